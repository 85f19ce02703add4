// A list of question rows keyed by id, kept in order by a comparator, where
// a change touches only the rows of the questions it carries (the console
// holds 600 of them; redrawing all on every change cost 230 ms at 73).
//
// Besides insert / replace / remove it knows two things the console needs so
// that nothing moves under the moderator's pointer: rows *held* back (new
// arrivals waiting behind the "N câu hỏi mới" bar) and *stale* rows (left the
// view because of someone else; kept in place, dimmed, until the next sweep).

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
      const el = this.row(q, false);
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
    const el = this.row(q, stale);
    const focus = focusKey(entry.el);
    entry.el.replaceWith(el);
    Object.assign(entry, { el, q, stale });
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
    const el = this.row(q, false);
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

/** What had focus inside `el`: its data-key, 'row' for the row itself, or null. */
function focusKey(el) {
  const active = document.activeElement;
  if (!active || !el.contains(active)) return null;
  return active === el ? 'row' : active.dataset?.key ?? 'row';
}

function restoreFocus(el, key) {
  if (!key) return;
  const target = key === 'row' ? el : el.querySelector(`[data-key="${CSS.escape(key)}"]`) ?? el;
  target.focus({ preventScroll: true });
}
