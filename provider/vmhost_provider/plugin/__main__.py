"""``python -m vmhost_provider.plugin``: the ``juju-vmhost`` plugin."""

import sys

from vmhost_provider.plugin import main

sys.exit(main())
