"""One way to be a reporter: subclass model.Reporter. Fanout calls that interface only."""

import importlib
import inspect
import pkgutil

import pytest

import zorora_e2e_plugin
from zorora_e2e_plugin.core.steps import Reporter
from zorora_e2e_plugin.report.fanout import Fanout

EVENTS = ("run_started", "phase_started", "step_started", "step_finished", "run_finished", "notice")


def _package_classes():
    for info in pkgutil.walk_packages(zorora_e2e_plugin.__path__, "zorora_e2e_plugin."):
        if info.name.startswith("zorora_e2e_plugin.sandbox") or info.name.startswith("zorora_e2e_plugin._"):
            continue
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                yield cls


def test_every_class_that_hears_run_events_is_a_reporter():
    listening = [cls for cls in _package_classes() if any(event in vars(cls) for event in EVENTS)]
    assert len(listening) >= 8  # the console view, the presenter, the history, the artifacts, the relays...
    assert [f"{cls.__module__}.{cls.__qualname__}" for cls in listening if not issubclass(cls, Reporter)] == []


def test_fanout_refuses_what_is_not_a_reporter():
    class Partial:  # an observer that knows one event only: it must subclass Reporter instead
        def step_finished(self, result):
            pass

    with pytest.raises(TypeError, match="Partial"):
        Fanout([Reporter(), Partial()])


def test_fanout_hands_every_event_to_each_reporter_in_order():
    heard = []

    class Ear(Reporter):
        def __init__(self, name):
            self.name = name

        def phase_started(self, phase):
            heard.append((self.name, "phase_started", phase))

        def notice(self, text):
            heard.append((self.name, "notice", text))

    fanout = Fanout([Ear("a"), Reporter(), Ear("b")])
    fanout.phase_started("p")
    fanout.step_finished("ignored by both")  # the interface's no-op
    fanout.notice("n")
    assert heard == [
        ("a", "phase_started", "p"),
        ("b", "phase_started", "p"),
        ("a", "notice", "n"),
        ("b", "notice", "n"),
    ]
