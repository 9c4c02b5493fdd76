import sys

from shapels.cli import main

sys.exit(main())
