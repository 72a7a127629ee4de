// The code editor of the page at / (agentcode serve): CodeMirror 6 with Python highlighting.
// Built by `npm run build` into agentcode/server/static/editor.js (an IIFE exposing
// window.AgentcodeEditor.create), so the page needs nothing from the network.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { python } from "@codemirror/lang-python";

export function create(parent, { onRun } = {}) {
  const runKey = keymap.of([
    { key: "Mod-Enter", run: () => { if (onRun) onRun(); return true; } },
  ]);
  const view = new EditorView({
    doc: "",
    extensions: [runKey, basicSetup, python(), EditorView.lineWrapping],
    parent,
  });
  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode: (text) =>
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    appendCode: (text) =>
      view.dispatch({ changes: { from: view.state.doc.length, insert: text } }),
  };
}
