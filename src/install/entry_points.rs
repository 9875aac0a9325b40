//! entry_points.txt (console_scripts, gui_scripts).
