"""`python -m sandbox.telegram`: serve the emulator on its own."""

from sandbox.telegram.app import main

main()
