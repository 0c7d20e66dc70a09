import sys

from chatkiosk.cli import main

sys.exit(main())
