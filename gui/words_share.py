"""The Share tab's words (read through gui.words, like every other name)."""

TAB_SHARE = "6. Share"
SHARE_THIS = "Share this model..."
SHARE_INTRO = (
    "## Share your model\n"
    "Three ways, from the quickest to the longest-lasting:\n"
    "1. **A link while this app runs**: a public link anyone on the internet can open, or an address for the phones "
    "and computers on your own Wi-Fi. It stops when you press Stop or close the app.\n"
    "2. **A web page that lives anywhere**: one .zip to put on any web host (GitHub Pages, a school server). The "
    "model runs in the visitor's own browser: no server, and their pictures never leave their device.\n"
    "3. **A Hugging Face Space**: a small app on Hugging Face's free hosting that keeps running after your "
    "computer is off.\n\n"
    "Visitors can only drop pictures and see the answers (and how good the model is): never your pictures, your "
    "training or your files.")
SHARE_VISITORS_SEE = "**Visitors of a link see**: {runs}. Choose others with *Share in the demo view* in the Runs tab."
SHARE_VISITORS_NONE = ("**Visitors of a link see no model yet**: train one, or tick *Share in the demo view* in the "
                       "Runs tab.")
SHARE_LINK_HEADING = "### 1. A link while this app runs"
SHARE_PASSWORD = "Visitor password (optional)"
SHARE_PASSWORD_INFO = "Visitors type it (with any user name) before they see the page. It is never saved."
SHARE_FULL = "Visitors get the whole app (needs the password)"
SHARE_FULL_INFO = "Off: they get the demo view (predict and see how good it is, nothing else). Usually what you want."
SHARE_PUBLIC_START = "Create public link"
SHARE_PUBLIC_STOP = "Stop sharing"
SHARE_NETWORK_START = "Share on this network"
SHARE_NETWORK_STOP = "Stop"
SHARE_PUBLIC_BOX = "Public link"
SHARE_NETWORK_BOX = "Address on this network"
SHARE_QR_ALT = "QR code of {url}"
SHARE_PUBLIC_ON = ("**Anyone with this link** sees {view}, {protection}. It lasts {lasts} while this app keeps running "
                   "(started at {time}); *Stop sharing* ends it at once. Scan the code with a phone to open it.")
SHARE_PUBLIC_OFFLINE = ("No public link could be made: Gradio's share server cannot be reached from this computer (no "
                        "internet connection?). **Share on this network** below still works for phones and "
                        "computers on the same Wi-Fi.")
SHARE_NETWORK_ON = ("**Anyone on this network** (the same Wi-Fi or office network) can open this address: they see "
                    "{view}, {protection}. On a phone, scan the code; the phone's camera works through the picture "
                    "button. It stops when you press Stop or close the app.")
SHARE_NO_NETWORK = ("This computer is on no network right now, so no other device can reach it. Connect to Wi-Fi "
                    "and try again.")
SHARE_STOPPED = "Stopped: the link no longer answers."
SHARE_NOT_RUNNING = "Nothing was being shared."
SHARE_PASSWORD_SHORT = "Choose a visitor password of at least {least} characters, or leave it empty."
SHARE_FULL_NEEDS_PASSWORD = "The whole app can only be shared behind a password: type one, or untick the whole app."
SHARE_WITH_PASSWORD, SHARE_WITHOUT_PASSWORD = "behind your password", "with no password"
SHARE_RUN = "Model to export"
SHARE_PAGE_HEADING = "### 2. A web page that lives anywhere"
SHARE_PAGE_INTRO = (
    "One .zip with a folder to put on any web host (or open with `python -m http.server` in that folder): visitors "
    "drop, paste or take a picture and see the top 3 answers, computed in their own browser. It keeps working as "
    "long as the host keeps the files; it costs nothing to run.")
SHARE_PAGE_BUTTON = "Make the web page"
SHARE_PAGE_FILE = "Web page (.zip)"
SHARE_PAGE_MADE = ("Made {name} ({size}; {unpacked} unpacked, most of it the browser's model runtime). Checked "
                   "before writing: {parity} "
                   "Unzip it and put the folder on any web host; it needs no server code.")
SHARE_SPACE_HEADING = "### 3. A Hugging Face Space"
SHARE_SPACE_INTRO = (
    "A folder Hugging Face runs for free as a small app (a *Space*) that keeps working when this computer is off. "
    "Make the folder and upload it yourself, or publish it here with a Hugging Face access token (a *write* token "
    "from huggingface.co/settings/tokens). The token is used once and never saved or shown.")
SHARE_SPACE_BUTTON = "Make the Space folder"
SHARE_SPACE_FILE = "Space folder (.zip)"
SHARE_SPACE_MADE = "Made {name} ({size}). Checked before writing: {parity}"
SHARE_TOKEN = "Hugging Face token"
SHARE_SPACE_NAME = "Space name"
SHARE_SPACE_NAME_INFO = "your-name/space-name, or only space-name to publish under your account"
SHARE_PUBLISH = "Publish to Hugging Face"
SHARE_PUBLISHED = ("Published: your Space is at {url} . Hugging Face builds it in a minute or two; then anyone can "
                   "open it, even when this computer is off.")
SHARE_NO_TOKEN = "Paste a Hugging Face access token first (a write token from huggingface.co/settings/tokens)."
SHARE_PARITY = "it gives the app's answer on {agreed} of {images} validation pictures (largest difference {diff:.4f})."

# Keeping what the model is shown, and learning from it (the Review tab, Settings)
KEEPING_NOTICE = ("The owner of this page keeps the pictures you drop here, to improve the model; they are never "
                  "shown to other visitors.")
KEEPING_ON_START = "Keeping the pictures the model is shown, for review (in {folder}); turn it off in Settings."
