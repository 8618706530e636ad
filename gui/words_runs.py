"""Every word of the Runs tab and of sharing the app (demo view, passwords, one training at a time, bounded
uploads, start-up), the part of gui/words.py that came with runs you come back to and a link that is safe to hand
out; read them through `gui.words` like every other word.
"""
from __future__ import annotations

# Runs tab
TAB_RUNS = "8. Runs"
RUNS_INTRO = ("Every run in one table: open one to see its curves, name it, train it further or delete it; put several "
              "side by side; compare two picture by picture; export one, or save chosen runs as a project.")
DATASET_FILTER, ALL_DATASETS = "Dataset", "All datasets"
RUNS_REFRESH = "Re-read the runs folder"
RUNS_TABLE = "Runs (click a header to sort, a row to open that run)"
RUNS_COLUMNS = ["date", "name", "dataset", "backbone", "recipe", "epochs", "best valid acc (%)", "training time (s)",
                "status", "note", "pictures from use", "run"]
OPEN_RUN = "Open a run"
SEVERAL_RUNS = "Runs side by side (also what Save project saves)"
RUN_CHOICE = "{name} · {dataset} · {acc} · {status}"
NOT_VALIDATED = "not validated"
SUBTAB_THIS_RUN, SUBTAB_SIDE_BY_SIDE = "This run", "Side by side"
SUBTAB_PICTURES, SUBTAB_SHARE = "Picture by picture", "Export and share"
PICK_A_RUN = "Pick a run first."
RUN_HEADLINE = "**{name}**{run_id} · {dataset} · {status} · {epochs} epoch(s) · best validation accuracy {acc}"
RUN_FIELD_PART = " · learned from {count} picture(s) it met in use"
RUN_ID_PART = " · run {run_id}"
RUN_FAILED_HINT = "\n\nThis run did not end normally: *Resume* carries it on from its last saved epoch."
RUN_NAME, RUN_NOTE, SAVE_LABEL = "Name", "Note", "Save name and note"
LABEL_SAVED = "Saved the name and note of {run_id}."
RUN_CONFIG = "Its settings (config.json)"
RUN_EVALUATED = "**{split}**: {images} images · accuracy **{accuracy:.1%}** · balanced accuracy {balanced:.1%}"
RUN_EVALUATED_OLD = " (from before the model or its pictures last changed: evaluate it again in the Evaluate tab)"
RUN_NOT_EVALUATED = "Not evaluated yet: the Evaluate tab judges it image by image."
TRAIN_EACH_EPOCH, EPOCH_AXIS = "train (each epoch)", "epoch"
CONTINUED_MARK = "continued here"
OVERLAY_ACCURACY, OVERLAY_LOSS = "Validation accuracy per epoch", "Validation loss per epoch"
DELETE = "Delete this run"
DELETE_YES = "Yes, delete {run_id}"
DELETE_ASK = "Delete run {run_id} with its model and results? This cannot be undone: click *Yes, delete {run_id}*."
DELETE_TRAINING = "{run_id} is training now; stop it before deleting it."
DELETE_NOTHING = "Click Delete first."
DELETED = "Deleted run {run_id}."
MORE_EPOCHS = "More epochs"
CONTINUE_TRAINING, RESUME = "Continue training", "Resume a failed run"
MORE_EPOCHS_WHOLE = "Say how many more epochs, as a whole number of at least 1."
ALREADY_TRAINING = "{run_id} is training now; wait until it ends (or stop it) before training it further."
CONTINUED_ENDED = ("{verb}: run {run_id} has now trained {epochs} epoch(s); its best model got {acc:.1%} of the "
                   "validation images right (epoch {best_epoch}).")
COMPARE_INTRO = ("Two runs on the same pictures: which ones B gets right that A got wrong, and the reverse. Each run "
                 "is evaluated first if it has not been.")
RUN_A, RUN_B, COMPARE_BUTTON = "Run A", "Run B", "Compare"
COMPARE_SAME = "Pick two different runs."
COMPARE_SENTENCE = ("{run_a} {acc_a} → {run_b} {acc_b} on {images} {split}: **{fixed} picture(s) now right, "
                    "{broken} now wrong**; {both_wrong} wrong under both.")
NO_PICTURES = "no pictures"
COMPARE_CLASS_COLUMNS = ["class", "pictures", "A accuracy (%)", "B accuracy (%)", "change (points)"]
COMPARE_CONFIG_COLUMNS = ["setting", "A", "B"]
COMPARE_SETTINGS = "Settings that differ"
SAME_SETTINGS = "(the same settings)"
NOW_RIGHT, NOW_WRONG = "Now right (A was wrong, B is right)", "Now wrong (A was right, B is wrong)"
CHANGE_CAPTION = "true {true} · A said {a} ({pa:.0%}) · B said {b} ({pb:.0%})"
COMPARE_HIDDEN = "{count} changed picture(s) lie outside the folders this app serves, so only their names are listed: {names}"
EXPORT_INTRO = ("**Export the opened run** as one .zip with a standalone predict.py: checked first to give the "
                "app's answers on every validation picture, else nothing is written.")
EXPORT_FORMATS = [("ONNX", "onnx"), ("TorchScript", "torchscript")]
EXPORT_FORMATS_LABEL, EXPORT_BUTTON, EXPORT_FILE = "Formats", "Export", "The exported run (.zip)"
EXPORT_ENGINES = {"onnx": "ONNX Runtime", "torchscript": "TorchScript"}
AND = " and "
EXPORT_NO_FORMAT = "Tick at least one format."
PARITY = ("{engines} agree with the app on {agreed} of {images} validation pictures; largest probability "
          "difference {diff:.6f}.")
EXPORTED = "Exported {name} ({size}). {parity}"
MEGABYTES = "{mb:.1f} MB"
PROJECT_INTRO = ("**Project**: the runs chosen above, with every picture they used, in one .zip that another copy "
                 "of this app opens with their curves, evaluations and calibration.")
PROJECT_SAVE, PROJECT_FILE = "Save project", "The project (.zip)"
PROJECT_UPLOAD, PROJECT_OPEN = "A project .zip to open", "Open project"
PROJECT_NO_RUNS = "Choose the runs to save in *Runs side by side* first."
PROJECT_NO_FILE = "Upload a project .zip first."
PROJECT_SAVED = "Saved {runs} run(s) and {images} picture(s) ({size}).{missing}"
PROJECT_MISSING = " {count} picture(s) were no longer on disk and are not in it."
PROJECT_OPENED = "Opened {count} run(s): {runs}. Their pictures are in {datasets}.{left_out}"
PROJECT_LEFT_OUT = " Left out {count} item(s): {examples}"

# Sharing
DEMO_TITLE = "Transfer Studio demo"
DEMO_PICTURE = "Drop or paste a picture"
DEMO_INTRO = ("# Transfer Studio demo\nDrop pictures to see what the shared model answers; nothing you drop is "
              "kept or used to train.")
DEMO_NO_RUN = ("The owner of this app has not shared a trained model yet: they mark a run as shared in the Runs tab "
               "of the full app.")
NOT_SHARED = "The run {run_id!r} is not shared in this demo."
SHARED_RUN = "Shared model"
DEMO_PREDICT, DEMO_EVALUATE = "Predict", "How good it is"
DEMO_EVALUATE_INTRO = ("How well the shared model does on pictures it did not learn from: its figures per class and "
                       "which classes it mixes up (the pictures themselves stay private).")
PUBLIC_LINK = "Public link: anyone who has it sees this page"
PUBLIC_LINK_LASTS = ("The public link lasts {lasts} (while this app keeps running); visitors see {view}. "
                     "Copy it with the button beside it.")
SHARE_LASTS = "up to 1 week"
SHARE_FAILED = ("The public link could not be created because Gradio's share server cannot be reached "
                "from this computer (no internet connection), so the app is only available at {url}.")
VIEW_NAMES = {"demo": "the demo view (predict and evaluate the shared runs only)",
              "full": "the full app (data, training, every run)"}
EXPOSED = "This app listens on {host}, so other computers can reach it: it serves {view}, {protection}."
PROTECTED = "protected by a password"
UNPROTECTED = "with no password"
SHARE_DEMO_NOTE = ("The public link serves {view}; for the full app behind a password start with --auth "
                   "user:password or set a password in Settings.")
AUTH_BAD = "--auth takes user:password (got something without a colon or with an empty user name or password)."
AUTH_FILE_BAD = "Line {line} of {path} is not user:password."
AUTH_FILE_MISSING = "The password file {path} cannot be read: {reason}."
LOGIN_MESSAGE = "Transfer Studio: log in with the user name and password the owner gave you."
SHARE_IN_DEMO = "Share in the demo view"
SHARE_IN_DEMO_INFO = "When no run is ticked, the demo view shows the newest finished run."
SHARED_ON = "{run_id} is shown in the demo view (from the next page load)."
SHARED_OFF = "{run_id} is no longer shown in the demo view."
TAB_SETTINGS = "9. Settings"
SETTINGS_INTRO = ("**Password**: set one to open the full app to others behind a login (also through `--share`). "
                  "It takes effect the next time the app starts; only a salted hash of it is kept, in {path}.")
SETTINGS_USER, SETTINGS_PASSWORD, SETTINGS_REPEAT = "User name", "Password", "Password again"
SETTINGS_SAVE, SETTINGS_CLEAR = "Set password", "Remove password"
PASSWORD_MISMATCH = "The two passwords differ; type them again."
PASSWORD_SAVED = "Password set for {user}: the next start of the app asks for it."
PASSWORD_CLEARED = "Password removed: the next start of the app asks for none (and --share serves the demo view)."
PASSWORD_NONE = "No password was set."
PASSWORD_IS_SET = "A password is set: the app asks for it (from its next start if it was set just now)."
PASSWORD_NOT_SET = "No password is set."
REST_LOGIN = "Log in first: this app is protected by a password (POST user name and password to /login)."

# Visitors: one training at a time per app, and bounded uploads
PLACES = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
PLACE_NUMBER = "number {place}"
IN_LINE = "{place} in line, {wait}"
WAIT_MINUTES = "about {minutes} min"
WAIT_UNDER_MINUTE = "under a minute"
QUEUED = ("Another training is running in this app; this one starts when those ahead of it end ({in_line}). "
          "Stop leaves the line.")
LEFT_LINE = "Left the line before starting: nothing was trained."
TOO_MANY_FILES = "{count} files at once; at most {most} are accepted in one drop. Drop them in smaller batches."
TOO_MANY_PIXELS = "{name} declares too many pixels (possibly a decompression bomb); it was not opened."

# Start-up
MARKED_FAILED = ("Run {run_id} was left running by a process that ended without closing it (killed or crashed): "
                 "it is marked failed; resume it in the Runs tab.")
