"""`tamma demo`: an offline walk through Tamma on embedded defaults."""
