"""Test set-up: the real Ironic when importable (the Ironic image), else stand-ins (tests/standins.py).

BMC_CONSOLE_IRONIC_STANDINS=1 forces the stand-ins, =0 requires the real Ironic (fails when absent).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_mode = os.environ.get('BMC_CONSOLE_IRONIC_STANDINS', 'auto')
REAL_IRONIC = False
if _mode != '1':
    try:
        import ironic.console.container.base  # noqa: F401
        import ironic.common.exception  # noqa: F401
        import ironic.conf  # noqa: F401
        REAL_IRONIC = True
    except ImportError:
        if _mode == '0':
            raise
if not REAL_IRONIC:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import standins
    standins.install()


def pytest_report_header(config):
    if REAL_IRONIC:
        import ironic
        return f'ironic: REAL modules from {os.path.dirname(ironic.__file__)}'
    return 'ironic: STAND-INS (tests/standins.py); the real Ironic is not importable here'


@pytest.fixture
def real_ironic():
    return REAL_IRONIC
