"""What the user sees while a flow runs: plain lines, or a live rich view on a terminal."""
