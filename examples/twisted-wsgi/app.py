"""A tiny WSGI application for `twist web --wsgi app.application`."""


def application(environ, start_response):
    body = b"hello from a packed twisted\n"
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
