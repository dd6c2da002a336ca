"""The terminal: whether there is someone to ask and a terminal to draw on (terminal.py), the one yes/no
question (confirm.py), and what a stdout that cannot encode ✓ gets instead (encoding.py)."""
