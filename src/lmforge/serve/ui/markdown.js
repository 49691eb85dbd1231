// A small markdown renderer for model answers and curation reports.
//
// Safety first: the whole text is HTML-escaped before any markdown is read, so the only
// tags in the result are the ones made here; links keep only http(s), mailto, #anchors and
// same-site paths (no javascript:); images are not loaded. Supported: headings, paragraphs
// (single line breaks kept, as chat answers expect), fenced and inline code, bold, italic,
// links, lists, block quotes, rules and pipe tables. With `citations: n`, [1] .. [n] become
// links to the sources `#<prefix>1` .. (data-source holds the number).

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const FENCE = /^\s*(```|~~~)/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;
const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^\s*&gt;\s?(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const SAFE_URL = /^(https?:\/\/|mailto:|#|\/(?!\/))/i;

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** HTML for `source` (any text: it is escaped first). Options: citations, prefix. */
export function renderMarkdown(source, options = {}) {
  const text = escapeHtml(String(source ?? "").replace(/\u0000/g, ""));
  return blocks(text.replace(/\r\n?/g, "\n").split("\n"), options).join("\n");
}

function startsBlock(lines, i) {
  const line = lines[i];
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || ITEM.test(line)
    || QUOTE.test(line) || isTable(lines, i);
}

function isTable(lines, i) {
  return lines[i].includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])
    && lines[i + 1].includes("-");
}

function blocks(lines, options) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i += 1;
    } else if (FENCE.test(line)) {
      const fence = line.trim().slice(0, 3);
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i += 1; // the closing fence (or the end of an answer still streaming)
      out.push(`<pre><code>${body.join("\n")}</code></pre>`);
    } else if ((m = HEADING.exec(line))) {
      const n = m[1].length;
      out.push(`<h${n}>${inline(m[2], options)}</h${n}>`);
      i += 1;
    } else if (RULE.test(line)) {
      out.push("<hr>");
      i += 1;
    } else if (isTable(lines, i)) {
      i = table(lines, i, options, out);
    } else if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        quoted.push(m[1]);
        i += 1;
      }
      out.push(`<blockquote>${blocks(quoted, options).join("\n")}</blockquote>`);
    } else if (ITEM.test(line)) {
      i = list(lines, i, options, out);
    } else {
      const para = [];
      while (i < lines.length && lines[i].trim() && (para.length === 0 || !startsBlock(lines, i))) {
        para.push(lines[i++].trim());
      }
      out.push(`<p>${para.map((l) => inline(l, options)).join("<br>")}</p>`);
    }
  }
  return out;
}

function list(lines, i, options, out) {
  const ordered = /\d/.test(ITEM.exec(lines[i])[2]);
  const items = [];
  let m;
  while (i < lines.length && (m = ITEM.exec(lines[i])) && /\d/.test(m[2]) === ordered) {
    const item = [m[3]];
    i += 1;
    // continuation lines: indented text that starts no new item
    while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !ITEM.test(lines[i])) {
      item.push(lines[i++].trim());
    }
    items.push(`<li>${item.map((l) => inline(l, options)).join("<br>")}</li>`);
  }
  const tag = ordered ? "ol" : "ul";
  out.push(`<${tag}>${items.join("")}</${tag}>`);
  return i;
}

function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

function table(lines, i, options, out) {
  const head = cells(lines[i]).map((c) => `<th>${inline(c, options)}</th>`).join("");
  const rows = [];
  i += 2;
  while (i < lines.length && lines[i].includes("|") && lines[i].trim()) {
    rows.push(`<tr>${cells(lines[i++]).map((c) => `<td>${inline(c, options)}</td>`).join("")}</tr>`);
  }
  out.push(`<table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`);
  return i;
}

// Inline spans. Code, links and citations are cut out first (into placeholders) so that the
// emphasis rules never see their contents or the attributes made for them.
function inline(text, options) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let t = text.replace(/`([^`]+)`/g, (_, code) => hold(`<code>${code}</code>`));
  t = t.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label, url) => {
    if (!SAFE_URL.test(url)) return whole;
    return hold(`<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a>`);
  });
  if (options.citations) t = t.replace(/\[(\d+(?:\s*,\s*\d+)*)\]/g, (_, nums) => hold(cite(nums, options)));
  t = t.replace(/\*\*(?=\S)(.+?)\*\*/g, "<strong>$1</strong>");
  t = t.replace(/(^|[^*\w])\*(?=\S)([^*]+?)\*(?![*\w])/g, "$1<em>$2</em>");
  t = t.replace(/(^|[^\w])_(?=\S)([^_]+?)_(?!\w)/g, "$1<em>$2</em>");
  return t.replace(/\u0000(\d+)\u0000/g, (_, n) => held[Number(n)]);
}

function cite(nums, options) {
  const prefix = options.prefix || "source-";
  const links = nums.split(",").map((s) => Number(s.trim())).map((n) => {
    if (n >= 1 && n <= options.citations) {
      return `<a href="#${prefix}${n}" class="cite" data-source="${n}">${n}</a>`;
    }
    return `<span class="cite-invalid" title="names no source">${n}</span>`;
  });
  return `[${links.join(", ")}]`;
}
