// "Câu hỏi khác" on the participant's phone (issue 14): the event's approved
// and queued questions, with a "Tôi cũng muốn hỏi" button on each, once per
// device. Loaded by phone.js only when the list is opened, so the phone's
// first load stays small. Read on demand, never pushed: pages of 50 from
// GET /api/events/{event}/questions?page=N, revalidated with the ETag (an
// unchanged page costs a 304). Votes go by HTTP POST, like questions.

import { addStrings, t, lang, onLang } from './i18n.js';
import { h, hallName } from './ui.js';

addStrings(
  {
    'vt.intro': 'Câu hỏi của các bạn khác. Bấm «Tôi cũng muốn hỏi» để Ban tổ chức biết nhiều người quan tâm.', 'vt.vote': 'Tôi cũng muốn hỏi', 'vt.voted': 'Đã ghi nhận ✓',
    'vt.count': '{n} người hỏi', 'vt.mine': 'Câu hỏi của bạn', 'vt.more': 'Xem thêm', 'vt.refresh': 'Cập nhật', 'vt.loading': 'Đang tải…', 'vt.none': 'Chưa có câu hỏi nào được duyệt.',
    'vt.failed': 'Chưa tải được danh sách; bấm «Cập nhật» để thử lại.', 'vt.vote_failed': 'Chưa ghi nhận được: {err}', 'vt.busy': 'Bạn bấm nhanh quá, hãy thử lại sau ít phút.', 'vt.on_air': 'Đang trả lời',
  },
  {
    'vt.intro': 'Questions from others. Press "I want to ask this too" so the organisers know many people care.', 'vt.vote': 'I want to ask this too', 'vt.voted': 'Counted ✓',
    'vt.count': '{n} asking', 'vt.mine': 'Your question', 'vt.more': 'Show more', 'vt.refresh': 'Refresh', 'vt.loading': 'Loading…', 'vt.none': 'No question has been approved yet.',
    'vt.failed': 'Could not load the list; press "Refresh" to try again.', 'vt.vote_failed': 'Not counted: {err}', 'vt.busy': 'Too many presses; try again in a few minutes.', 'vt.on_air': 'On air',
  },
);

/** Build the list inside `root`; returns { refresh }. */
export function mount(root, { event, device, mine, names, onClosed }) {
  const VOTED = `doithoai.votes.${event}`;
  /** page number → { etag, questions } */
  const pages = new Map();
  let total = 1;
  let status = '';
  const voted = () => new Set(JSON.parse(localStorage.getItem(VOTED) ?? '[]'));
  const url = (n) => `/api/events/${encodeURIComponent(event)}/questions?page=${n}`;

  async function load(n) {
    const known = pages.get(n);
    // no-store: the 304 must reach this code, which keeps the body itself.
    const r = await fetch(url(n), { cache: 'no-store', headers: known?.etag ? { 'if-none-match': known.etag } : {} });
    if (r.status === 304 && known) return;
    if (!r.ok) throw new Error(String(r.status));
    const body = await r.json();
    total = Math.max(1, body.pages ?? 1);
    pages.set(n, { etag: r.headers.get('etag'), questions: body.questions ?? [] });
  }

  async function refresh() {
    status = t('vt.loading');
    render();
    try {
      const n = Math.max(1, pages.size);
      for (let i = 0; i < n; i += 1) await load(i);
      status = '';
    } catch {
      status = t('vt.failed');
    }
    render();
  }

  async function more() {
    try {
      await load(pages.size);
    } catch {
      status = t('vt.failed');
    }
    render();
  }

  async function vote(q, button) {
    button.disabled = true;
    try {
      const r = await fetch(`/api/events/${encodeURIComponent(event)}/votes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ question: q.id, device }) });
      const reply = await r.json().catch(() => ({}));
      if (r.ok) {
        localStorage.setItem(VOTED, JSON.stringify([...voted(), q.id]));
        if (!reply.duplicate) q.votes = (q.votes ?? 1) + 1;
        status = '';
      } else if (reply.code === 'event_closed') {
        onClosed?.();
      } else {
        status = r.status === 429 ? t('vt.busy') : t('vt.vote_failed', { err: (lang() === 'en' ? reply.message_en : reply.message) || r.status });
      }
    } catch {
      status = t('vt.vote_failed', { err: '—' });
    }
    render();
  }

  function render() {
    const seen = new Set();
    const list = [...pages.keys()].sort((a, b) => a - b).flatMap((n) => pages.get(n).questions).filter((q) => !seen.has(q.id) && seen.add(q.id));
    const done = voted();
    const own = new Set(mine());
    root.replaceChildren(
      h('p', { class: 'muted', text: t('vt.intro') }),
      status && h('p', { class: 'muted', attrs: { role: 'status' }, text: status }),
      !status && !list.length && h('p', { class: 'muted', text: t('vt.none') }),
      h(
        'ul',
        { class: 'qlist others-list' },
        list.map((q) =>
          h(
            'li',
            { class: `card ${q.state}`, attrs: { 'data-id': q.id, 'data-question-id': q.id } },
            h('p', { class: 'text', text: q.text }),
            h('p', { class: 'meta' }, h('span', { text: hallName(names(), q.hall) }), h('span', { text: t('vt.count', { n: q.votes ?? 1 }) }), q.state === 'on_air' && h('span', { class: 'badge st-on_air', text: t('vt.on_air') })),
            own.has(q.id)
              ? h('p', { class: 'muted', text: t('vt.mine') })
              : h('button', { class: done.has(q.id) ? 'vote done' : 'vote', text: done.has(q.id) ? t('vt.voted') : t('vt.vote'), attrs: { type: 'button', disabled: done.has(q.id), 'aria-pressed': String(done.has(q.id)) }, on: { click: (e) => vote(q, e.currentTarget) } }),
          ),
        ),
      ),
      h('p', { class: 'others-actions' }, pages.size < total && h('button', { text: t('vt.more'), attrs: { type: 'button' }, on: { click: more } }), h('button', { text: t('vt.refresh'), attrs: { type: 'button' }, on: { click: refresh } })),
    );
  }

  onLang(render);
  return { refresh };
}
