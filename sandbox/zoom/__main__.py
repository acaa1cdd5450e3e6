"""`python -m sandbox.zoom`: serve the emulator on its own."""

from sandbox.zoom.app import main

main()
