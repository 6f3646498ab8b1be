"""`python -m gateway` runs the rogatory CLI."""

from gateway.web.cli import main

main()
