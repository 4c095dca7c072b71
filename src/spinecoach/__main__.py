"""``python -m spinecoach`` runs the command line."""

from spinecoach.cli import main

main()
