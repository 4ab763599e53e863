"""`python -m voicecoach` runs the same command line as the `voicecoach` script."""

import sys

from voicecoach.cli import main

sys.exit(main())
