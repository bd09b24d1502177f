"""``python -m ionscope`` is the ``ionscope`` command."""

import sys

from .cli import main

sys.exit(main())
