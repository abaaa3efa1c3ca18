"""bmc-console provider for OpenStack Ironic's graphical consoles.

Ironic's conductor loads :class:`bmc_console_ironic.provider.BmcConsoleContainer` through the
``ironic.console.container`` entry point ``bmc-console`` (``[vnc]container_provider = bmc-console``).
"""
