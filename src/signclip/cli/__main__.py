import sys

from signclip.cli import main

sys.exit(main())
