// The chair's view: the whole running order at a glance. What is on air, who
// has the floor, what comes next overall (the server's suggestion when it
// sends one, else the first queued question in department order), each
// department's queue with vote counts (empty departments folded into one
// line), the counts of the moderation pipeline, and backstage notes: the
// chair can send one to the moderators and sees the speakers'.

import { staffClient } from './client.js';
import { addStrings, t, onLang, lang } from './i18n.js';
import { h, $, bindStatus, hallName, deptName, initPage, byQueue, fmtTime, announce } from './ui.js';
import { noteForm, noteSender } from './backstage.js';

addStrings(
  {
    'ch.page_title': 'Chủ trì — doithoai', 'ch.title': 'Điều hành đối thoại', 'ch.nextup': 'Tiếp theo', 'ch.order': 'Thứ tự trả lời theo sở, ngành',
    'ch.counts_h': 'Số câu hỏi',
    'ch.c.pending': 'Chờ duyệt', 'ch.c.approved': 'Đã duyệt, chưa giao', 'ch.c.queued': 'Trong hàng chờ', 'ch.c.answered': 'Đã trả lời tại chỗ', 'ch.c.deferred': 'Trả lời bằng văn bản',
    'ch.empty_depts': 'Chưa có câu hỏi:', 'ch.more': 'và {n} câu nữa', 'ch.nothing_next': 'Hàng chờ trống', 'ch.notes': 'Lời nhắn', 'ch.no_notes': 'Chưa có lời nhắn',
    'ch.votes': '{n} người hỏi', 'ch.note_in': 'Nhắn từ {from}: {text}',
  },
  {
    'ch.page_title': 'Chair — doithoai', 'ch.title': 'Dialogue running order', 'ch.nextup': 'Next up', 'ch.order': 'Running order by department',
    'ch.counts_h': 'Questions',
    'ch.c.pending': 'Pending', 'ch.c.approved': 'Approved, unassigned', 'ch.c.queued': 'Queued', 'ch.c.answered': 'Answered live', 'ch.c.deferred': 'Written answers',
    'ch.empty_depts': 'No questions yet:', 'ch.more': 'and {n} more', 'ch.nothing_next': 'Queue is empty', 'ch.notes': 'Messages', 'ch.no_notes': 'No messages yet',
    'ch.votes': '{n} asked', 'ch.note_in': 'Message from {from}: {text}',
  },
);

/** Questions shown per department; the rest are counted. */
const PER_DEPT = 4;

initPage();
const client = staffClient();
let suggestions = null;
const notes = [];

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', () => {
    render();
    $('#note-box').replaceChildren(noteForm(client, fmtTime));
  });
  client.addEventListener('change', render);
  client.addEventListener('message', (e) => {
    const msg = e.detail;
    if (msg.type === 'suggestions') {
      suggestions = msg;
      render();
    } else if (msg.type === 'change' && msg.note && !notes.some((n) => n.id === msg.note.id)) {
      notes.unshift(msg.note);
      notes.splice(20);
      renderNotes();
      announce(t('ch.note_in', { from: noteSender(client.event, msg.note.from), text: msg.note.text }));
    }
  });
  onLang(() => {
    render();
    $('#note-box').replaceChildren(noteForm(client, fmtTime));
  });
}

/** The question to come next overall: the server's suggestion, else the first queued in department order. */
function nextUp() {
  const s = suggestions?.overall && client.questions.get(suggestions.overall.question);
  if (s && s.state === 'queued') return { q: s, why: lang() === 'en' && suggestions.overall.reason_en ? suggestions.overall.reason_en : suggestions.overall.reason ?? '' };
  for (const d of client.event.departments) {
    const first = client.list((q) => q.department === d.id && q.state === 'queued').sort(byQueue)[0];
    if (first) return { q: first, why: '' };
  }
  return null;
}

function render() {
  const ev = client.event;
  if (!ev) return;
  $('#event-name').textContent = ev.name;
  const n = (pred) => client.list(pred).length;
  const counts = {
    pending: n((q) => q.state === 'pending'),
    approved: n((q) => q.state === 'approved'),
    queued: n((q) => q.state === 'queued'),
    answered: n((q) => q.state === 'answered'),
    deferred: n((q) => ['deferred', 'answer_drafted', 'answer_sent', 'published'].includes(q.state)),
  };
  $('#count-list').replaceChildren(...Object.entries(counts).flatMap(([k, v]) => [h('dt', { text: t(`ch.c.${k}`) }), h('dd', { text: String(v), attrs: { 'data-count': k } })]));

  const air = client.list((q) => q.state === 'on_air')[0];
  $('#air').textContent = air ? air.text : t('common.nothing_on_air');
  $('#air-box').dataset.questionId = air?.id ?? '';
  $('#air-who').textContent = air ? `${hallName(ev, air.hall)} · ${deptName(ev, air.department)}${air.votes > 1 ? ` · ${t('ch.votes', { n: air.votes })}` : ''}` : '';
  const floor = [...client.floor.values()].find((f) => f.state === 'granted');
  $('#floor-now').textContent = floor ? t('common.floor_granted', { hall: hallName(ev, floor.hall) }) : '';

  const next = nextUp();
  $('#nextup-text').textContent = next ? next.q.text : t('ch.nothing_next');
  $('#nextup').dataset.questionId = next?.q.id ?? '';
  $('#nextup-why').textContent = next ? [deptName(ev, next.q.department), hallName(ev, next.q.hall), next.why].filter(Boolean).join(' · ') : '';

  const empty = [];
  const panels = [];
  for (const d of ev.departments) {
    const queue = client.list((q) => q.department === d.id && (q.state === 'queued' || q.state === 'on_air')).sort((a, b) => (b.state === 'on_air') - (a.state === 'on_air') || byQueue(a, b));
    if (!queue.length) {
      empty.push(h('span', { class: 'chip', text: deptName(ev, d.id), attrs: { 'data-dept': d.id } }));
      continue;
    }
    panels.push(
      h(
        'section',
        { class: 'ch-dept', attrs: { 'data-dept': d.id } },
        h('h2', {}, h('span', { text: deptName(ev, d.id) }), h('span', { class: 'count', text: String(queue.length) })),
        h(
          'ol',
          {},
          queue.slice(0, PER_DEPT).map((q, i) =>
            h(
              'li',
              { class: q.state, attrs: { 'data-id': q.id, 'data-question-id': q.id, 'data-state': q.state, title: q.text } },
              h('span', { class: 'pos', text: q.state === 'on_air' ? '▶' : String(i + (queue[0].state === 'on_air' ? 0 : 1)) }),
              h('p', { class: 'text', text: q.text }),
              h('span', { class: 'votes', text: q.votes > 1 ? t('ch.votes', { n: q.votes }) : '' }),
            ),
          ),
        ),
        queue.length > PER_DEPT && h('p', { class: 'more', text: t('ch.more', { n: queue.length - PER_DEPT }) }),
      ),
    );
  }
  $('#order').replaceChildren(...panels);
  $('#empty-depts').replaceChildren(...(empty.length ? [h('span', { class: 'muted', text: t('ch.empty_depts') }), ...empty] : []));
  renderNotes();
}

function renderNotes() {
  const ev = client.event;
  $('#notes').replaceChildren(
    ...(notes.length
      ? notes.map((n) => h('li', { attrs: { 'data-note-id': n.id } }, h('strong', { text: noteSender(ev, n.from) }), ' ', h('time', { class: 'muted', text: fmtTime(n.at) }), h('p', { text: n.text })))
      : [h('li', { class: 'muted', text: t('ch.no_notes') })]),
  );
}
