"""Stand-in for the pip bootstrap script ansible-test downloads from ci-files.testing.ansible.com, which this
machine cannot reach. It does what that script does (run `pip install --upgrade --force-reinstall <args>` with
a pip that is not installed yet), taking pip from the wheel bundled with Python's ensurepip; the pip version
ansible-test asks for then comes from PyPI like every other requirement."""

import ensurepip
import glob
import os
import sys

wheel = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))[-1]
sys.path.insert(0, wheel)

from pip._internal.cli.main import main  # noqa: E402

# get-pip's own options: it installs setuptools and wheel unless told not to; this stand-in never does.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", *args]))
