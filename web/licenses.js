// Prints the licence of every package bundled into editor.js (npm run build:editor).
const fs = require("fs");
const path = require("path");
const names = fs.readdirSync("node_modules").flatMap((name) =>
  name.startsWith("@")
    ? fs.readdirSync(path.join("node_modules", name)).map((sub) => `${name}/${sub}`)
    : [name]);
for (const name of names.sort()) {
  if (!/^(@codemirror|@lezer|@marijn|codemirror|crelt|style-mod|w3c-keyname)/.test(name)) continue;
  const dir = path.join("node_modules", name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const file = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  console.log(`== ${name} ${pkg.version} (${pkg.license})`);
  if (file) console.log(fs.readFileSync(path.join(dir, file), "utf8").trim());
  console.log();
}
