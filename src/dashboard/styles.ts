// One small stylesheet, inline: no asset pipeline, no third-party origin. Colours meet WCAG AA
// contrast on white (text #1a1a1a, links #0b4f9c, pass #0a6b2e, fail #a10d0d).
export const STYLES = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff}
a{color:#0b4f9c}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #f2b200;outline-offset:2px}
header{background:#12263f;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center}
header a{color:#fff}
header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
header nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
header form{margin-left:auto}
main{padding:1rem;max-width:80rem;margin:0 auto}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#0b4f9c;padding:.5rem;z-index:1}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #c8c8c8;vertical-align:top}
.scroll{overflow-x:auto}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;margin-bottom:1rem}
label{display:flex;flex-direction:column;font-size:.9rem;gap:.15rem}
input,select,button{font:inherit;padding:.3rem .5rem;min-height:2.25rem}
button{background:#0b4f9c;color:#fff;border:1px solid #0b4f9c;border-radius:4px;cursor:pointer}
button.secondary{background:#fff;color:#0b4f9c}
.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.85rem;font-weight:600;border:1px solid currentColor}
.pass{color:#0a6b2e}.fail{color:#a10d0d}.warn{color:#7a4b00}
.risk-low{color:#0a6b2e}.risk-medium{color:#7a4b00}.risk-high{color:#a10d0d}.risk-critical{color:#fff;background:#a10d0d;border-color:#a10d0d}
.notice{border-left:4px solid #0b4f9c;background:#eef4fb;padding:.5rem 1rem}
.error{border-left:4px solid #a10d0d;background:#fbeeee;padding:.5rem 1rem}
.tabs{display:flex;gap:1rem;border-bottom:2px solid #c8c8c8;margin-bottom:1rem;padding:0;list-style:none}
.tabs a{display:block;padding:.25rem .5rem}
.tabs a[aria-current=page]{font-weight:700;border-bottom:3px solid #0b4f9c}
pre,code{font-family:ui-monospace,monospace;font-size:.875rem}
pre{background:#f3f3f3;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
del{background:#fbdede;color:#7d0a0a}ins{background:#daf5e2;color:#0a5224;text-decoration:none}
.inline{display:inline}
@media (max-width:40rem){main{padding:.5rem}th,td{padding:.25rem}header form{margin-left:0}}
`;
