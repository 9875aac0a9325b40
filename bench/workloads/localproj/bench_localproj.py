"""envtool benchmark fixture (bench/workloads/localproj)."""

__version__ = "0.1.0"


def main():
    print("bench-localproj " + __version__)
    return 0
