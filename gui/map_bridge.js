() => {
  // The dataset map's clicks and lasso selections, sent to Python: gr.Plot has no click event of its own, so the
  // Plotly figure inside #data-map gets listeners, re-attached whenever Gradio draws a new one, which write
  // {"kind", "points", "revision", "nonce"} into the hidden #map-picked box: its change event (a new nonce each time)
  // runs the Python handler. "revision" is the drawn map's uirevision: Python ignores a click on a map drawn before.
  const MARK = "__transferStudioMap";
  const box = () => document.querySelector("#map-picked textarea, #map-picked input");
  const send = (figure, kind, points) => {
    const input = box();
    if (!input) return;
    const proto = input.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    const setter = Object.getOwnPropertyDescriptor(proto, "value").set;
    const revision = (figure.layout || {}).uirevision;
    setter.call(input, JSON.stringify({kind, points, revision, nonce: `${Date.now()}-${Math.random()}`}));
    input.dispatchEvent(new Event("input", {bubbles: true}));
  };
  const indices = (event) => [...new Set(((event && event.points) || [])
    .map((point) => point.customdata).filter((index) => Number.isInteger(index)))];
  const attach = () => {
    const figure = document.querySelector("#data-map .js-plotly-plot");
    if (!figure || figure[MARK] || typeof figure.on !== "function") return;
    figure[MARK] = true;
    figure.on("plotly_click", (event) => send(figure, "click", indices(event).slice(0, 1)));
    // a lasso or box drawn by a person carries its outline; a redraw of the figure also says "selected", without one
    figure.on("plotly_selected", (event) => {
      if (event && (event.lassoPoints || event.range)) send(figure, "select", indices(event));
    });
    figure.on("plotly_deselect", () => send(figure, "select", []));  // a double click clears the selection
  };
  new MutationObserver(attach).observe(document.body, {childList: true, subtree: true});
  attach();
}
