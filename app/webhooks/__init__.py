"""Webhooks in the IDE: the Webhooks panel (the workspace's ``webhooks/*.json`` records:
create, enable/disable, copy the URL with its key, regenerate the key, delete) and the "Serve
Webhooks" switch that serves them from the IDE's own engine, so each call is an execution in
the Executions tree. ``install(window)`` uses only the window's public attributes (workspace,
bridge, explorer, add_panel, run_action, statusBar, show_error), so the window needs one call."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMenu

from .controller import WebhooksController
from .panel import WebhooksPanel
from .serving import Serving

__all__ = ["install", "WebhooksController", "WebhooksPanel", "Serving"]


def install(window: QMainWindow) -> WebhooksController:
    """Add the Webhooks panel and the Serve Webhooks action; returns the controller (also kept
    as ``window.webhooks``, with ``.panel`` and ``.serving``). Installing twice does nothing."""
    if getattr(window, "webhooks", None) is not None:
        return window.webhooks
    panel = WebhooksPanel()
    controller = WebhooksController(window, panel)
    serving = Serving(window, panel)
    controller.serving = serving
    controller.base_url = lambda: serving.base_url
    add = panel.toolbar.addAction
    new = add("New…", controller.new_webhook)
    new.setObjectName("newWebhookAction")
    row_actions = [add("Enable/Disable", controller.toggle_enabled), add("Copy URL", controller.copy_url),
                   add("Regenerate Key…", controller.regenerate), add("Delete…", controller.delete)]
    for action, name in zip(row_actions, ("toggleWebhookAction", "copyWebhookUrlAction",
                                          "regenerateWebhookKeyAction", "deleteWebhookAction")):
        action.setObjectName(name)
    panel.row_actions = [new, *row_actions]
    add("Refresh", controller.refresh).setObjectName("refreshWebhooksAction")
    panel.toolbar.addSeparator()
    panel.toolbar.addAction(serving.action)

    def selection_changed():
        for action in row_actions:
            action.setEnabled(panel.selected_name() is not None)
    panel.selectionChanged.connect(selection_changed)
    selection_changed()

    run_menu = next((m for m in window.run_action.associatedObjects() if isinstance(m, QMenu)), None)
    if run_menu is not None:
        run_menu.addSeparator()
        run_menu.addAction(serving.action)
    controller.dock = window.add_panel("Webhooks", panel)
    controller.dock.setObjectName("webhooksDock")
    window.bridge.opened.connect(controller.refresh)
    if window.workspace is not None:
        controller.refresh()
    controller.panel = panel
    window.webhooks = controller
    return controller
