"""Settings tab: the owner's password for the full app (stored as a salted hash; used from the next start), and
whether the app keeps the pictures the model is shown (for the Review tab)."""
from __future__ import annotations

import gradio as gr

from core.runstore.sharing import clear_password, has_password, password_path, save_password
from gui import words
from gui.context import AppContext


def set_password(ctx: AppContext, user: str, password: str, again: str) -> tuple[str, str, str]:
    """Store the password's hash; (sentence, "", "") so that the typed password leaves the page at once."""
    if (password or "") != (again or ""):
        return words.WARN.format(words.PASSWORD_MISMATCH), "", ""
    try:
        save_password(password_path(ctx.cache_dir), user, password)
    except (ValueError, OSError) as err:
        return words.WARN.format(err), "", ""
    return words.PASSWORD_SAVED.format(user=user.strip()), "", ""


def remove_password(ctx: AppContext) -> str:
    """Forget the stored password; a sentence saying so."""
    return words.PASSWORD_CLEARED if clear_password(password_path(ctx.cache_dir)) else words.PASSWORD_NONE


def password_state(ctx: AppContext) -> str:
    """Whether a password is set, in a sentence."""
    return words.PASSWORD_IS_SET if has_password(password_path(ctx.cache_dir)) else words.PASSWORD_NOT_SET


def keeping_state(ctx: AppContext) -> tuple[bool, int, str]:
    """(on, cap in MB, sentence) of the owner's keeping settings."""
    settings = ctx.keeper.settings()
    said = (words.SETTINGS_KEEP_SAVED_ON.format(cap=settings.cap_mb) if settings.on
            else words.SETTINGS_KEEP_SAVED_OFF)
    return settings.on, settings.cap_mb, said + (words.SETTINGS_KEEP_FORCED if ctx.keeper.forced_on else "")


def save_keeping(ctx: AppContext, on: bool, cap_mb: float | None) -> str:
    """Remember whether to keep pictures, and the cap; a sentence saying so."""
    try:
        ctx.keeper.set(bool(on), max(1, int(cap_mb)) if cap_mb else None)  # an emptied box keeps the cap
    except (OSError, ValueError) as err:
        return words.WARN.format(err)
    return keeping_state(ctx)[2]


def delete_kept(ctx: AppContext) -> str:
    """Empty the kept pictures."""
    return words.SETTINGS_KEEP_DELETED.format(count=ctx.keeper.store().delete_all())


def build(ctx: AppContext, demo: gr.Blocks, keeping: bool = True) -> None:
    """Lay out the password form; every handler is private (no API endpoint, never in the docs)."""
    gr.Markdown(words.SETTINGS_INTRO.format(path=password_path(ctx.cache_dir)))
    with gr.Row():
        user = gr.Textbox(label=words.SETTINGS_USER, max_lines=1, elem_id="settings-user")
        password = gr.Textbox(label=words.SETTINGS_PASSWORD, type="password", max_lines=1,
                              elem_id="settings-password")
        again = gr.Textbox(label=words.SETTINGS_REPEAT, type="password", max_lines=1, elem_id="settings-again")
    with gr.Row():
        save = gr.Button(words.SETTINGS_SAVE, variant="primary", elem_id="settings-save")
        clear = gr.Button(words.SETTINGS_CLEAR, elem_id="settings-clear")
    said = gr.Markdown(elem_id="settings-said")
    save.click(lambda u, p, a: set_password(ctx, u, p, a), [user, password, again], [said, password, again],
               api_visibility="private")
    clear.click(lambda: remove_password(ctx), None, said, api_visibility="private")
    demo.load(lambda: password_state(ctx), None, said, api_visibility="private")
    if keeping:  # the owner's own page only: visitors of a shared full app neither change nor empty it
        _keeping_part(ctx, demo)


def _keeping_part(ctx: AppContext, demo: gr.Blocks) -> None:
    """Whether to keep the pictures the model is shown, the cap, and deleting them all."""
    gr.Markdown(words.SETTINGS_KEEP_HEADING)
    with gr.Row():
        keep = gr.Checkbox(False, label=words.SETTINGS_KEEP, info=words.SETTINGS_KEEP_INFO, elem_id="settings-keep",
                           scale=3)
        cap = gr.Number(500, precision=0, minimum=1, label=words.SETTINGS_KEEP_CAP, elem_id="settings-keep-cap",
                        scale=1)
    with gr.Row():
        keep_save = gr.Button(words.SETTINGS_KEEP_SAVE, variant="primary", elem_id="settings-keep-save")
        keep_delete = gr.Button(words.SETTINGS_KEEP_DELETE, variant="stop", elem_id="settings-keep-delete")
    keep_said = gr.Markdown(elem_id="settings-keep-said")
    keep_save.click(lambda on, mb: save_keeping(ctx, on, mb), [keep, cap], keep_said, api_visibility="private")
    keep_delete.click(lambda: delete_kept(ctx), None, keep_said, api_visibility="private")
    demo.load(lambda: keeping_state(ctx), None, [keep, cap, keep_said], api_visibility="private")
