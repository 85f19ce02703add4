// A list of question rows keyed by id, kept in order by a comparator, where
// a change touches only the rows of the questions it carries (the console
// holds 600 of them; redrawing all on every change cost 230 ms at 73).
//
// Besides insert / replace / remove it knows two things the console needs so
// that nothing moves under the moderator's pointer: rows *held* back (new
// arrivals waiting behind the "N câu hỏi mới" bar) and *stale* rows (left the
// view because of someone else; kept in place, dimmed, until the next sweep).
//
// A row that is already on the page is patched in place, not replaced: the
// moderator may be on one of its controls (the department select, the group
// select) when someone else's change to that question arrives. The control
// stays the same element, keeps focus, caret and a choice not yet sent; a
// control the moderator has not touched takes the fresh value. Handlers must
// therefore not close over the question a row was drawn from: they look up
// the question's current version when they send (the console delegates them
// to the list).

export class KeyedList {
  /** @param ul the list element; `row(q, stale)` builds an <li>; `compare(a, b)` orders questions. */
  constructor(ul, { row, compare }) {
    this.ul = ul;
    this.row = row;
    this.compare = compare;
    /** id → { el, q, stale } for rows on the page. */
    this.rows = new Map();
    /** Ids on the page, in page order. */
    this.order = [];
    /** id → question, waiting to be shown. */
    this.held = new Map();
  }

  has(id) {
    return this.rows.has(id);
  }

  element(id) {
    return this.rows.get(id)?.el ?? null;
  }

  size() {
    return this.order.length;
  }

  isEmpty() {
    return this.order.length === 0;
  }

  heldCount() {
    return this.held.size;
  }

  /** Draw exactly `questions` (sorted), dropping anything held or stale. */
  reset(questions) {
    this.held.clear();
    this.rows.clear();
    const sorted = [...questions].sort(this.compare);
    this.order = sorted.map((q) => q.id);
    const els = sorted.map((q) => {
      const el = stamp(this.row(q, false));
      this.rows.set(q.id, { el, q, stale: false });
      return el;
    });
    this.ul.replaceChildren(...els);
  }

  /**
   * Show `q` in its place when `wanted`, else remove its row. Options:
   * `stale` keeps the row where it is, marked stale; `keep` re-renders in place
   * (selection, a conflict) without moving it.
   */
  update(q, wanted, opts = {}) {
    const entry = this.rows.get(q.id);
    if (!wanted) {
      this.held.delete(q.id);
      if (entry) this.remove(q.id);
      return;
    }
    if (this.held.has(q.id)) {
      this.held.set(q.id, q);
      return;
    }
    if (!entry) {
      this.insert(q);
      return;
    }
    const stale = opts.stale ?? (opts.keep ? entry.stale : false);
    const el = entry.el;
    const focus = saveFocus(el);
    patch(el, stamp(this.row(q, stale)));
    Object.assign(entry, { q, stale });
    if (!stale && !opts.keep && !this.inPlace(q.id)) {
      this.order.splice(this.order.indexOf(q.id), 1);
      this.place(q.id, el);
    }
    restoreFocus(el, focus);
  }

  remove(id) {
    const entry = this.rows.get(id);
    this.held.delete(id);
    if (!entry) return;
    entry.el.remove();
    this.rows.delete(id);
    this.order.splice(this.order.indexOf(id), 1);
  }

  /** Keep `q` off the page until `release()`. */
  hold(q) {
    this.held.set(q.id, q);
  }

  /** Show everything held, each in its place. */
  release() {
    const qs = [...this.held.values()];
    this.held.clear();
    for (const q of qs) if (!this.rows.has(q.id)) this.insert(q);
  }

  /** Drop the rows marked stale. */
  sweep() {
    for (const [id, entry] of [...this.rows]) if (entry.stale) this.remove(id);
  }

  /** The id `d` rows after `id` (clamped), or the first row when `id` is not shown. */
  step(id, d) {
    const i = this.order.indexOf(id);
    if (i < 0) return this.order[0] ?? null;
    return this.order[Math.max(0, Math.min(this.order.length - 1, i + d))];
  }

  /** The row after `id`, or the one before when it is the last. */
  neighbour(id) {
    const i = this.order.indexOf(id);
    if (i < 0) return null;
    return this.order[i + 1] ?? this.order[i - 1] ?? null;
  }

  insert(q) {
    const el = stamp(this.row(q, false));
    this.rows.set(q.id, { el, q, stale: false });
    this.place(q.id, el);
  }

  /** Put `id` (not in `order`) and its element at its sorted position. */
  place(id, el) {
    const q = this.rows.get(id).q;
    let i = this.order.findIndex((other) => this.compare(q, this.rows.get(other).q) < 0);
    if (i < 0) i = this.order.length;
    const before = this.order[i];
    this.order.splice(i, 0, id);
    this.ul.insertBefore(el, before ? this.rows.get(before).el : null);
  }

  inPlace(id) {
    const i = this.order.indexOf(id);
    const q = this.rows.get(id).q;
    const prev = this.order[i - 1];
    const next = this.order[i + 1];
    return !(prev && this.compare(this.rows.get(prev).q, q) > 0) && !(next && this.compare(q, this.rows.get(next).q) > 0);
  }
}

const CONTROLS = 'input, select, textarea';

/** The value a control shows: `checked` for boxes, else `value`. */
function valueOf(c) {
  return c.type === 'checkbox' || c.type === 'radio' ? c.checked : c.value;
}

function setValue(c, v) {
  if (c.type === 'checkbox' || c.type === 'radio') c.checked = v;
  else c.value = v;
}

/** Remember what each control of a freshly drawn row showed, to tell later whether the moderator changed it. */
function stamp(el) {
  for (const c of [el, ...el.querySelectorAll(CONTROLS)]) if (c.matches(CONTROLS)) c.shown = valueOf(c);
  return el;
}

/** Same node for patching: same kind, same data-key; elements without a key also by class. */
function ident(n) {
  if (n.nodeType !== 1) return `#${n.nodeType}`;
  const key = n.getAttribute('data-key');
  return key != null ? `${n.nodeName}|key:${key}` : `${n.nodeName}|${n.className}`;
}

/**
 * Make `old` look like `fresh` (a newly drawn copy), keeping every element
 * that has a counterpart. A control the moderator is on and has changed keeps
 * its value; every other control takes the fresh one.
 */
function patch(old, fresh) {
  for (const a of [...old.attributes]) if (!fresh.hasAttribute(a.name)) old.removeAttribute(a.name);
  for (const a of fresh.attributes) if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
  const olds = [...old.childNodes];
  const used = new Set();
  const want = [...fresh.childNodes].map((n) => {
    const id = ident(n);
    const match = olds.find((o) => !used.has(o) && ident(o) === id);
    if (!match) return n;
    used.add(match);
    if (match.nodeType === 1) patch(match, n);
    else if (match.nodeValue !== n.nodeValue) match.nodeValue = n.nodeValue;
    return match;
  });
  for (const o of olds) if (!used.has(o)) o.remove();
  want.forEach((n, i) => {
    if (old.childNodes[i] !== n) old.insertBefore(n, old.childNodes[i] ?? null);
  });
  if (old.matches(CONTROLS)) {
    const fv = valueOf(fresh);
    const touched = old.shown !== undefined && valueOf(old) !== old.shown;
    if (!(touched && old === document.activeElement)) setValue(old, fv);
    old.shown = fv;
  }
}

/** What had focus inside `el` (the element, its data-key, and a text field's selection), or null. */
function saveFocus(el) {
  const active = document.activeElement;
  if (!active || !el.contains(active)) return null;
  let range = null;
  try {
    if (active.selectionStart != null) range = [active.selectionStart, active.selectionEnd, active.selectionDirection];
  } catch {
    // Not a text field (a select, a checkbox): no selection to keep.
  }
  return { active, key: active === el ? 'row' : active.dataset?.key ?? 'row', range };
}

/** Put focus back after a patch or a move: on the same element when it is still in the row, else by data-key. */
function restoreFocus(el, focus) {
  if (!focus) return;
  const { active, key, range } = focus;
  if (document.activeElement === active) return;
  const target = el.contains(active) ? active : key === 'row' ? el : el.querySelector(`[data-key="${CSS.escape(key)}"]`) ?? el;
  target.focus({ preventScroll: true });
  if (range && target === active) {
    try {
      target.setSelectionRange(...range);
    } catch {
      // The field's type has no selection.
    }
  }
}
