"""Minimal STAND-INS for the few ``ironic.*`` and ``oslo_config`` names the plugin imports.

Used only when the real Ironic is not importable (the bookworm host) or when BMC_CONSOLE_IRONIC_STANDINS=1.
They mimic Ironic 29.0.5: ``ConsoleContainerError(provider=, reason=)`` formatted with the same _msg_fmt,
``BaseConsoleContainer`` with the three abstract methods, ``ironic.conf.CONF`` with ``[vnc]read_only``.
The real check runs the same tests against the real modules in the Ironic image (scripts/ironic-image.sh).
"""

import abc
import sys
import types


class _Opt:
    def __init__(self, name, default=None, help=None, min=None, **_kw):
        self.name, self.default, self.help, self.min = name, default, help, min


class StrOpt(_Opt):
    pass


class BoolOpt(_Opt):
    pass


class FloatOpt(_Opt):
    pass


class IntOpt(_Opt):
    pass


class OptGroup:
    def __init__(self, name, title=None, help=None):
        self.name, self.title, self.help = name, title, help


class _GroupView:
    def __init__(self, conf, group):
        self._conf, self._group = conf, group

    def __getattr__(self, name):
        opts = self._conf._groups[self._group]
        if name not in opts:
            raise AttributeError(f'no such option {name} in group {self._group}')
        return self._conf._overrides.get((self._group, name), opts[name].default)


class ConfigOpts:
    def __init__(self):
        self._groups = {}
        self._overrides = {}

    def register_group(self, group):
        self._groups.setdefault(group.name, {})

    def register_opts(self, opts, group=None):
        name = getattr(group, 'name', group) or 'DEFAULT'
        for opt in opts:
            self._groups.setdefault(name, {})[opt.name] = opt

    def set_override(self, name, override, group=None):
        if name not in self._groups.get(group, {}):
            raise KeyError(f'no such option {name} in group {group}')
        self._overrides[(group, name)] = override

    def clear_override(self, name, group=None):
        self._overrides.pop((group, name), None)

    def __getattr__(self, group):
        if group.startswith('_') or group not in self._groups:
            raise AttributeError(group)
        return _GroupView(self, group)


class IronicException(Exception):
    _msg_fmt = 'An unknown exception occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        super().__init__(message or self._msg_fmt % kwargs)


class ConsoleContainerError(IronicException):
    _msg_fmt = "Console container error with provider '%(provider)s', reason: %(reason)s"


class BaseConsoleContainer(object, metaclass=abc.ABCMeta):
    @abc.abstractmethod
    def start_container(self, task, app_name, app_info):
        """(host, port)"""

    @abc.abstractmethod
    def stop_container(self, task):
        """stop"""

    @abc.abstractmethod
    def stop_all_containers(self):
        """stop all"""


def install():
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        m.__bmc_console_standin__ = True
        sys.modules[name] = m
        return m

    cfg = module('oslo_config.cfg', StrOpt=StrOpt, BoolOpt=BoolOpt, FloatOpt=FloatOpt, IntOpt=IntOpt,
                 OptGroup=OptGroup, ConfigOpts=ConfigOpts)
    cfg.CONF = ConfigOpts()
    cfg.CONF.register_group(OptGroup('vnc'))
    cfg.CONF.register_opts([BoolOpt('read_only', default=False)], group='vnc')
    module('oslo_config', cfg=cfg)
    exc = module('ironic.common.exception', IronicException=IronicException,
                 ConsoleContainerError=ConsoleContainerError)
    module('ironic.common', exception=exc)
    conf = module('ironic.conf', CONF=cfg.CONF)
    base = module('ironic.console.container.base', BaseConsoleContainer=BaseConsoleContainer)
    container = module('ironic.console.container', base=base)
    console = module('ironic.console', container=container)
    module('ironic', common=sys.modules['ironic.common'], conf=conf, console=console)
