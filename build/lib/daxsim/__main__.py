import sys

from daxsim.cli import main

sys.exit(main())
