/**
 * The page side of the locators: one function, sent as a string (so no transpiler helper ends up in the page) and
 * the same string on every call, so V8 compiles it once per context. The locator calls it with
 * `(op, selector, arg)`; it parses the selector in the page, finds the matches and answers one question about them.
 *
 * Selectors (the part of Playwright's syntax our scripts use), joined by `>>` (each part searched inside the
 * matches of the previous one):
 *   CSS, a list too, searched in open shadow roots as well; `css=...`; CSS with `:has-text("...")` (case-insensitive
 *   substring of the element's text); `text=/re/flags` and `text=words` (case-insensitive substring of the
 *   whitespace-normalised text), each matching the innermost elements whose text matches; `text="exact"` (an element
 *   with a run of its own text equal to it, whitespace-normalised, as Playwright has it); `internal:role=link[name=
 *   "Submit"i]` (as getByRole writes it); `nth=N` (first()/nth()).
 * Visibility and text content follow vendor-scripts/lib/quiet.ts; where quiet.ts takes a shortcut (a regex is only
 * tried below elements whose text matches it; "exact" compares the whole text) this follows Playwright instead.
 *
 * Ops: 'count' -> number; 'element' -> the arg-th match (default 0) or null; 'owner' -> the first match when it is a
 * <frame>/<iframe>, else null; 'visible' -> boolean (first match); 'state' -> ElementState; 'text' and 'attribute'
 * (arg: the name) -> { count, value }; 'prepare-fill' (arg: the value) -> { count, error? }; 'focus' -> { count }.
 */

/** What 'state' answers about the first match (`count` is how many there are, for strict mode). */
export interface ElementState {
  count: number;
  visible: boolean;
  enabled: boolean;
  editable: boolean;
  /** null when the element is neither a checkbox nor a radio button (native or by role). */
  checked: boolean | null;
}

/** What 'text' and 'attribute' answer. */
export interface ValueAnswer {
  count: number;
  value: string | null;
}

/** What 'prepare-fill' and 'focus' answer; `error` when the element cannot take text. */
export interface PrepareAnswer {
  count: number;
  error?: string;
}

export type SelectorOp =
  | 'count'
  | 'element'
  | 'owner'
  | 'visible'
  | 'state'
  | 'text'
  | 'attribute'
  | 'prepare-fill'
  | 'focus';

export const SELECTOR_ENGINE = String.raw`function (op, selector, arg) {
  'use strict';
  var SKIPPED = { HEAD: 1, SCRIPT: 1, NOSCRIPT: 1, STYLE: 1, TEMPLATE: 1 };
  function skip(el) { return SKIPPED[el.nodeName] === 1; }
  function norm(s) { return s.replace(/\s+/g, ' ').trim(); }
  function parentOf(el) {
    if (el.parentElement) return el.parentElement;
    var p = el.parentNode;
    return p && p.nodeType === 11 && p.host ? p.host : null;
  }

  // --- splitting: ">>" between parts, "," between CSS alternatives, outside quotes, brackets and parentheses ---
  function splitTop(s, sep) {
    var out = [], depth = 0, quote = '', start = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s[i];
      if (quote) { if (c === '\\') i++; else if (c === quote) quote = ''; continue; }
      if (c === '/' && s[i - 1] === '=') {
        // A regular expression (text=/.../, name=/.../): skip to its closing slash, outside character classes.
        for (var inClass = false, j = i + 1; j < s.length; j++) {
          if (s[j] === '\\') j++;
          else if (inClass) { if (s[j] === ']') inClass = false; }
          else if (s[j] === '[') inClass = true;
          else if (s[j] === '/') break;
        }
        i = j;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '(' || c === '[') depth++;
      else if (c === ')' || c === ']') depth--;
      else if (depth === 0 && s.substr(i, sep.length) === sep) { out.push(s.slice(start, i)); start = i + sep.length; i += sep.length - 1; }
    }
    out.push(s.slice(start));
    return out;
  }

  // --- text, as quiet.ts reads it: textContent without script/style/template text (a button input: its value) ---
  function text(el) {
    if (el.nodeName === 'INPUT' && (el.type === 'submit' || el.type === 'button' || el.type === 'reset')) return el.value;
    if (!el.querySelector('script, noscript, style, template')) return el.textContent || '';
    var t = '';
    for (var n = el.firstChild; n; n = n.nextSibling) t += n.nodeType === 3 ? n.nodeValue : n.nodeType === 1 && !skip(n) ? text(n) : '';
    return t;
  }
  // The runs of text directly in the element, between its child elements (comments do not split a run).
  function immediateTexts(el) {
    var runs = [], run = '';
    for (var n = el.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 3) run += n.nodeValue;
      else if (n.nodeType === 1) { if (run) runs.push(run); run = ''; }
    }
    if (run) runs.push(run);
    return runs;
  }
  // Playwright's three kinds: 'regex' (raw text; innermost matches), 'strict' for "quoted" text (an element with
  // a run of its own text equal to it, whitespace-normalised), 'lax' for bare words (case-insensitive substring of
  // the normalised text; innermost matches).
  function textMatcher(body) {
    var re = /^\/(.*)\/([a-z]*)$/s.exec(body);
    if (re) { var rx = new RegExp(re[1], re[2].replace(/[gy]/g, '')); return { kind: 'regex', test: function (el) { return rx.test(text(el)); } }; }
    var quoted = /^"(.*)"$/s.exec(body);
    if (quoted) {
      var exact = norm(quoted[1].replace(/\\(.)/g, '$1'));
      return { kind: 'strict', test: function (el) {
        var runs = immediateTexts(el);
        if (!runs.length) return exact === '';
        for (var i = 0; i < runs.length; i++) if (norm(runs[i]) === exact) return true;
        return false;
      } };
    }
    var words = norm(body).toLowerCase();
    return { kind: 'lax', test: function (el) { return text(el).replace(/\s+/g, ' ').toLowerCase().indexOf(words) >= 0; } };
  }

  // --- roots: the scope and the open shadow roots below it ---
  function rootsOf(scope) {
    var roots = [scope];
    if (scope.shadowRoot) roots.push(scope.shadowRoot);
    for (var r = 0; r < roots.length; r++) {
      var all = roots[r].querySelectorAll('*');
      for (var i = 0; i < all.length; i++) if (all[i].shadowRoot) roots.push(all[i].shadowRoot);
    }
    return roots;
  }

  // A bare-words text that contains a match matches too, so only 'lax' skips the subtrees whose text does not match.
  function byText(scope, m) {
    var roots = rootsOf(scope), out = [];
    for (var r = 0; r < roots.length; r++) {
      var stack = [];
      for (var i = roots[r].children.length - 1; i >= 0; i--) stack.push(roots[r].children[i]);
      while (stack.length) {
        var el = stack.pop();
        if (skip(el)) continue;
        var self = m.test(el);
        if (!self && m.kind === 'lax') continue;
        if (self && m.kind === 'strict') out.push(el);
        else if (self) {
          var inner = false;
          for (var c = el.firstElementChild; c && !inner; c = c.nextElementSibling) inner = !skip(c) && m.test(c);
          if (!inner) { out.push(el); if (m.kind === 'lax') continue; }
        }
        for (var j = el.children.length - 1; j >= 0; j--) stack.push(el.children[j]);
      }
    }
    return out;
  }

  // --- CSS; ":has-text()" is not CSS, so a selector with it is matched compound by compound, right to left ---
  var HAS_TEXT = /:has-text\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)]*))\s*\)/g;
  function compileComplex(sel) {
    var compounds = [], combinators = [], depth = 0, quote = '', cur = '', pending = '';
    function flush() {
      var texts = [];
      var css = cur.replace(HAS_TEXT, function (m, dq, sq, bare) {
        var v = dq !== undefined ? JSON.parse('"' + dq + '"') : sq !== undefined ? sq.replace(/\\(.)/g, '$1') : bare;
        texts.push(norm(v).toLowerCase());
        return '';
      }).trim();
      compounds.push({ css: css || '*', texts: texts });
      cur = '';
    }
    for (var i = 0; i < sel.length; i++) {
      var c = sel[i];
      if (quote) { cur += c; if (c === '\\') cur += sel[++i]; else if (c === quote) quote = ''; continue; }
      if (depth === 0 && (c === ' ' || c === '\t' || c === '\n' || c === '>' || c === '+' || c === '~')) {
        if (c === ' ' || c === '\t' || c === '\n') { if (!pending) pending = ' '; } else pending = c;
        continue;
      }
      if (pending) { if (cur) { flush(); combinators.push(pending); } pending = ''; }
      if (c === '"' || c === "'") quote = c;
      else if (c === '(' || c === '[') depth++;
      else if (c === ')' || c === ']') depth--;
      cur += c;
    }
    if (cur) flush();
    return { compounds: compounds, combinators: combinators };
  }
  function matchesCompound(el, c) {
    if (!el.matches(c.css)) return false;
    if (!c.texts.length) return true;
    var t = norm(text(el)).toLowerCase();
    for (var i = 0; i < c.texts.length; i++) if (t.indexOf(c.texts[i]) < 0) return false;
    return true;
  }
  function matchesFrom(el, cx, i) {
    if (!matchesCompound(el, cx.compounds[i])) return false;
    if (i === 0) return true;
    var comb = cx.combinators[i - 1], p;
    if (comb === '>') { p = parentOf(el); return !!p && matchesFrom(p, cx, i - 1); }
    if (comb === '+') { p = el.previousElementSibling; return !!p && matchesFrom(p, cx, i - 1); }
    if (comb === '~') { for (p = el.previousElementSibling; p; p = p.previousElementSibling) if (matchesFrom(p, cx, i - 1)) return true; return false; }
    for (p = parentOf(el); p; p = parentOf(p)) if (matchesFrom(p, cx, i - 1)) return true;
    return false;
  }
  function byCss(scope, css) {
    var roots = rootsOf(scope), out = [], r, i, all;
    if (css.indexOf(':has-text(') < 0) {
      for (r = 0; r < roots.length; r++) { all = roots[r].querySelectorAll(css); for (i = 0; i < all.length; i++) out.push(all[i]); }
      return out;
    }
    var alternatives = splitTop(css, ',');
    for (var a = 0; a < alternatives.length; a++) {
      var cx = compileComplex(alternatives[a].trim()), last = cx.compounds.length - 1;
      for (r = 0; r < roots.length; r++) {
        all = roots[r].querySelectorAll(cx.compounds[last].css);
        for (i = 0; i < all.length; i++) if (matchesFrom(all[i], cx, last)) out.push(all[i]);
      }
    }
    return out;
  }

  // --- roles: implicit ones from tags, explicit role=; hidden elements (as assistive technology sees them) left out ---
  function roleOf(el) {
    var explicit = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
    if (explicit) return explicit.toLowerCase();
    var n = el.nodeName;
    if ((n === 'A' || n === 'AREA') && el.hasAttribute('href')) return 'link';
    if (n === 'BUTTON') return 'button';
    if (/^H[1-6]$/.test(n)) return 'heading';
    if (n === 'TEXTAREA') return 'textbox';
    if (n === 'INPUT') {
      var t = el.type;
      if (t === 'checkbox' || t === 'radio') return t;
      if (t === 'button' || t === 'submit' || t === 'reset' || t === 'image') return 'button';
      if (t === 'search') return el.hasAttribute('list') ? 'combobox' : 'searchbox';
      if (t === 'text' || t === 'email' || t === 'tel' || t === 'url' || t === 'password') return el.hasAttribute('list') ? 'combobox' : 'textbox';
    }
    return '';
  }
  function hiddenForAria(el) {
    for (var e = el; e; e = parentOf(e)) if (e.getAttribute('aria-hidden') === 'true') return true;
    var style = getComputedStyle(el);
    if (style.display === 'none') return true;
    if (style.display !== 'contents' && typeof el.checkVisibility === 'function' && !el.checkVisibility()) return true;
    return style.visibility !== 'visible';
  }
  var NAME_FROM_CONTENT = { button: 1, link: 1, heading: 1, checkbox: 1, radio: 1, menuitem: 1, tab: 1, option: 1, cell: 1, treeitem: 1 };
  function contentName(el) {
    var out = '';
    for (var n = el.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 3) { out += n.nodeValue; continue; }
      if (n.nodeType !== 1 || skip(n) || n.getAttribute('aria-hidden') === 'true') continue;
      var display = getComputedStyle(n).display;
      if (display === 'none') continue;
      var part = n.getAttribute('aria-label') || (n.nodeName === 'IMG' ? n.getAttribute('alt') || '' : contentName(n));
      out += display.indexOf('inline') === 0 ? part : ' ' + part + ' ';
    }
    return out;
  }
  function nameOf(el, role) {
    var ids = (el.getAttribute('aria-labelledby') || '').trim();
    if (ids) {
      var root = el.getRootNode(), parts = ids.split(/\s+/), texts = [];
      for (var i = 0; i < parts.length; i++) { var l = root.getElementById ? root.getElementById(parts[i]) : null; if (l) texts.push(l.getAttribute('aria-label') || contentName(l)); }
      var joined = norm(texts.join(' '));
      if (joined) return joined;
    }
    var label = norm(el.getAttribute('aria-label') || '');
    if (label) return label;
    var n = el.nodeName;
    if (n === 'INPUT' && (el.type === 'button' || el.type === 'submit' || el.type === 'reset'))
      return norm(el.value) || (el.type === 'submit' ? 'Submit' : el.type === 'reset' ? 'Reset' : '');
    if (n === 'INPUT' && el.type === 'image') return norm(el.getAttribute('alt') || el.getAttribute('title') || 'Submit');
    if ((n === 'INPUT' || n === 'TEXTAREA' || n === 'SELECT') && el.labels && el.labels.length) {
      var lt = [];
      for (var k = 0; k < el.labels.length; k++) lt.push(contentName(el.labels[k]));
      var labelled = norm(lt.join(' '));
      if (labelled) return labelled;
    }
    if (NAME_FROM_CONTENT[role] === 1) { var c = norm(contentName(el)); if (c) return c; }
    return norm(el.getAttribute('title') || el.getAttribute('placeholder') || '');
  }
  // internal:role=ROLE or ROLE[name="..."i] (substring, any case), [name="..."s] (exact) or [name=/re/flags]
  function parseRole(body) {
    var m = /^([a-z]+)(?:\[name=(.*)\])?$/s.exec(body.trim());
    if (!m) throw new Error('invalid role selector: ' + body);
    var spec = { role: m[1], name: null };
    var v = m[2];
    if (v === undefined) return spec;
    if (v[0] === '/') {
      var end = v.lastIndexOf('/');
      var rx = new RegExp(v.slice(1, end), v.slice(end + 1).replace(/[gy]/g, ''));
      spec.name = function (name) { return rx.test(name); };
    } else {
      var exact = v[v.length - 1] === 's';
      var want = norm(JSON.parse(/["]$/.test(v) ? v : v.slice(0, -1)));
      spec.name = exact ? function (name) { return name === want; }
        : function (name) { return name.toLowerCase().indexOf(want.toLowerCase()) >= 0; };
    }
    return spec;
  }
  function byRole(scope, spec) {
    var roots = rootsOf(scope), out = [];
    for (var r = 0; r < roots.length; r++) {
      var all = roots[r].querySelectorAll('*');
      for (var i = 0; i < all.length; i++) {
        var el = all[i];
        if (roleOf(el) !== spec.role || hiddenForAria(el)) continue;
        if (spec.name && !spec.name(nameOf(el, spec.role))) continue;
        out.push(el);
      }
    }
    return out;
  }

  // --- the chain ---
  function matches(sel) {
    var parts = splitTop(sel, '>>'), current = [document];
    for (var p = 0; p < parts.length; p++) {
      var part = parts[p].trim(), m;
      if ((m = /^nth=(-?\d+)$/.exec(part))) {
        var n = Number(m[1]), el = current[n < 0 ? current.length + n : n];
        current = el ? [el] : [];
        continue;
      }
      var next = [], seen = new Set();
      for (var s = 0; s < current.length; s++) {
        var found;
        if ((m = /^text=(.*)$/s.exec(part))) found = byText(current[s], textMatcher(m[1]));
        else if ((m = /^internal:role=(.*)$/s.exec(part))) found = byRole(current[s], parseRole(m[1]));
        else found = byCss(current[s], part.replace(/^css=/, ''));
        for (var f = 0; f < found.length; f++) if (!seen.has(found[f])) { seen.add(found[f]); next.push(found[f]); }
      }
      current = next;
    }
    return current;
  }

  // --- questions about an element ---
  function visible(el) {
    var style = getComputedStyle(el);
    if (style.display === 'contents') {
      for (var c = el.firstElementChild; c; c = c.nextElementSibling) if (visible(c)) return true;
      return false;
    }
    if (typeof el.checkVisibility === 'function' && !el.checkVisibility()) return false;
    if (style.visibility !== 'visible') return false;
    var rect = el.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0;
  }
  function enabled(el) {
    if (el.matches(':disabled')) return false;
    for (var e = el; e; e = parentOf(e)) if (e.getAttribute('aria-disabled') === 'true') return false;
    return true;
  }
  function checked(el) {
    if (el.nodeName === 'INPUT' && (el.type === 'checkbox' || el.type === 'radio')) return el.checked;
    var role = roleOf(el);
    if (role === 'checkbox' || role === 'radio' || role === 'switch') return el.getAttribute('aria-checked') === 'true';
    return null;
  }
  var TEXT_INPUTS = { text: 1, password: 1, email: 1, number: 1, search: 1, tel: 1, url: 1 };
  function editable(el) {
    if (el.nodeName === 'INPUT') return TEXT_INPUTS[el.type] === 1 && !el.readOnly;
    if (el.nodeName === 'TEXTAREA') return !el.readOnly;
    return el.isContentEditable;
  }

  var all = matches(selector), first = all[0] || null;
  switch (op) {
    case 'count': return all.length;
    case 'element': return all[arg || 0] || null;
    case 'owner': return first && (first.nodeName === 'IFRAME' || first.nodeName === 'FRAME') ? first : null;
    case 'visible': return !!first && visible(first);
    case 'state':
      return { count: all.length, visible: !!first && visible(first), enabled: !!first && enabled(first),
        editable: !!first && editable(first), checked: first ? checked(first) : null };
    case 'text': return { count: all.length, value: first ? first.textContent : null };
    case 'attribute': return { count: all.length, value: first ? first.getAttribute(arg) : null };
    case 'focus':
      if (first) first.focus();
      return { count: all.length };
    case 'prepare-fill': {
      if (!first) return { count: 0 };
      if (!editable(first)) return { count: all.length, error: 'Element is not an <input>, <textarea> or [contenteditable] element that takes text' };
      first.focus();
      if (first.nodeName === 'INPUT' || first.nodeName === 'TEXTAREA') {
        first.select();
        if (arg === '' && first.value !== '') {
          first.value = '';
          first.dispatchEvent(new InputEvent('input', { bubbles: true, composed: true, inputType: 'deleteContentBackward' }));
        }
      } else {
        var range = document.createRange();
        range.selectNodeContents(first);
        var selection = first.ownerDocument.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (arg === '' && first.textContent !== '') {
          first.textContent = '';
          first.dispatchEvent(new InputEvent('input', { bubbles: true, composed: true, inputType: 'deleteContentBackward' }));
        }
      }
      return { count: all.length };
    }
  }
  throw new Error('unknown selector op: ' + op);
}`;
