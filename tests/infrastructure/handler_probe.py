"""Imports one function's handler the way Lambda does and prints what it found as JSON.

Run in a fresh, isolated interpreter: ``python -I handler_probe.py CODE_URI LAYER MODULE ATTRIBUTE ROOT``.
Only the function's CodeUri and the shared layer are put on ``sys.path`` (third-party packages come from
the interpreter's site-packages, as the layer's requirements do in Lambda).
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path


def main() -> None:
    code_uri, layer, module_name, attribute, root = sys.argv[1:6]
    sys.path[:0] = [code_uri, layer]
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute, None)

    accepts_event_and_context = False
    if callable(handler):
        try:
            inspect.signature(handler).bind({}, object())
            accepts_event_and_context = True
        except TypeError:
            accepts_event_and_context = False

    app = getattr(module, "app", None)
    routes = None
    if app is not None and hasattr(app, "_static_routes"):
        routes = sorted([route.method.upper(), route.openapi_path]
                        for route in app._static_routes + app._dynamic_routes)

    # The configuration is read lazily, on the first request; read it now from the template's environment.
    from crm_core.config import load_settings
    from crm_core.errors import ConfigurationError

    settings_error = None
    try:
        load_settings()
    except ConfigurationError as exc:
        settings_error = str(exc)

    allowed = [Path(code_uri).resolve(), Path(layer).resolve(), Path(sys.prefix).resolve()]
    foreign = []
    for name, loaded in sorted(sys.modules.items()):
        file = getattr(loaded, "__file__", None)
        if not file or loaded is sys.modules["__main__"]:  # this script (also aliased as __mp_main__)
            continue
        path = Path(file).resolve()
        if path.is_relative_to(Path(root)) and not any(path.is_relative_to(a) for a in allowed):
            foreign.append(f"{name} ({path})")

    print(json.dumps({
        "callable": callable(handler),
        "accepts_event_and_context": accepts_event_and_context,
        "routes": routes,
        "settings_error": settings_error,
        "foreign_modules": foreign,
        # at import, or on first use through the wiring (handlers may import services lazily)
        "loads_customer_repository": "crm_core.dal.customers" in sys.modules or _wires_services(code_uri),
    }))


def _wires_services(code_uri: str) -> bool:
    """Whether a module of the function's own code, as imported, builds services from ``crm_core.wiring``."""
    folder = Path(code_uri).resolve()
    for loaded in list(sys.modules.values()):
        file = getattr(loaded, "__file__", None)
        if file and Path(file).resolve().is_relative_to(folder) and "crm_core.wiring" in Path(file).read_text():
            return True
    return False


if __name__ == "__main__":
    main()
