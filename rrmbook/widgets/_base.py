"""What every dashboard shares: the abstract :class:`Dashboard` (controls, a message line,
an output area, ``update(**values)``).  Each family module subclasses it."""

from __future__ import annotations

from abc import ABC, abstractmethod

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from traitlets import TraitError

from ..evaluate import Results

__all__ = ["Dashboard"]


class Dashboard(ABC):
    """What every dashboard shares: controls, a message line, an output area and
    ``update(**values)``.  Subclasses build :attr:`controls` and the layout, then call
    :meth:`_finish`, and define ``_settings`` (the settings dataclass), ``_run`` and
    ``_draw``."""

    _settings: type
    controls: dict
    _fixed: dict

    @abstractmethod
    def _run(self, settings):
        """Simulate with ``settings``; return ``(env, results)``."""

    @abstractmethod
    def _draw(self, env, results) -> Figure:
        """Draw the dashboard figure."""

    def _finish(self, controls_box) -> None:
        import ipywidgets as W

        self.message_box = W.HTML()
        self.output = W.Output()
        self.figure: Figure | None = None
        self.env = None
        self.results: dict[str, Results] = {}
        self.settings = None
        self.message = ""
        self._holding = False
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.widget = W.VBox([controls_box, self.message_box, self.output])
        self._sync_enabled()

    # ----------------------------------------------------------------- state
    def values(self) -> dict:
        """The current control values as keyword arguments of the settings dataclass."""
        v = {k: w.value for k, w in self.controls.items()}
        if "policies" in v:
            v["policies"] = tuple(v["policies"])
        return {**v, **self._fixed}

    def _sync_enabled(self) -> None:  # noqa: B027 - optional hook, most dashboards need none
        """Disable the controls that do not apply to the current values (a hook)."""

    def _set_control(self, key: str, value) -> None:
        self.controls[key].value = tuple(value) if key == "policies" else value

    def _on_change(self, _change) -> None:
        if not self._holding:
            self.update()

    # ----------------------------------------------------------------- update
    def update(self, **values) -> Figure | None:
        """Set the given controls (e.g. ``policies=("llq",)``), rerun and redraw.  Returns
        the new figure, or ``None`` when the values were rejected (reason in
        :attr:`message`)."""
        unknown = set(values) - set(self.controls) - set(self._fixed)
        if unknown:
            raise ValueError(f"unknown dashboard values {sorted(unknown)}; "
                             f"use {sorted(self.controls) + sorted(self._fixed)}")
        self._holding = True
        try:
            for k, v in values.items():
                if k in self._fixed:
                    self._fixed[k] = v
                else:
                    self._set_control(k, v)
        except (TraitError, ValueError, TypeError) as err:  # a value a control refuses
            return self._reject(f"{k}: {err}")
        finally:
            self._holding = False
        self._sync_enabled()
        try:
            settings = self._settings(**self.values())
            env, results = self._run(settings)
        except ValueError as err:
            return self._reject(str(err))
        self.message = ""
        self.message_box.value = ""
        self.settings, self.env, self.results = settings, env, results
        fig = self._draw(env, results)
        self.figure = fig
        self._show(fig)
        return fig

    def _reject(self, message: str) -> None:
        self.message = message
        self.message_box.value = f"<span style='color:#b00'>{message}</span>"
        return None

    def _show(self, fig: Figure) -> None:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            with self.output:
                self.output.clear_output(wait=True)
                display(fig)
        plt.close(fig)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.figure is None:
            self.update()
        display(self.widget)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.values()})"

