// Speaker's tablet on the podium: the question on air and the next three of
// this department at a glance, in large type, long texts folded; the rest of
// the queue and what is done below, folded away. A "will answer in writing"
// button (a defer with no agency: the server files it under the speaker's own
// department) and a backstage note to the moderators ("Xin chuyển câu tiếp").

import { staffClient } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, bindStatus, announce, hallName, deptName, groupName, stateLabel, initPage, errorText, byQueue, fmtTime } from './ui.js';
import { noteForm } from './backstage.js';

addStrings(
  {
    'sp.page_title': 'Diễn giả — doithoai', 'sp.title': 'Câu hỏi của sở, ngành', 'sp.queue': 'Thứ tự trả lời', 'sp.empty': 'Chưa có câu hỏi nào được giao.', 'sp.done': 'Đã xử lý ({n})',
    'sp.next': 'Tiếp theo', 'sp.rest': 'Còn {n} câu nữa trong hàng chờ', 'sp.on_air': 'Đang trả lời', 'sp.nothing': 'Chưa có câu nào của sở, ngành đang được trả lời',
    'sp.written': 'Sẽ trả lời bằng văn bản', 'sp.written.confirm': 'Chuyển câu hỏi này sang trả lời bằng văn bản?', 'sp.other_air': 'Đang trả lời (sở, ngành khác): {text}',
    'sp.assigned': 'Câu hỏi mới được giao: {text}', 'sp.more': 'Xem hết', 'sp.less': 'Thu gọn',
  },
  {
    'sp.page_title': 'Speaker — doithoai', 'sp.title': 'Questions for this department', 'sp.queue': 'Running order', 'sp.empty': 'No questions assigned yet.', 'sp.done': 'Handled ({n})',
    'sp.next': 'Next up', 'sp.rest': '{n} more in the queue', 'sp.on_air': 'On air', 'sp.nothing': 'None of this department’s questions is on air',
    'sp.written': 'Will answer in writing', 'sp.written.confirm': 'Move this question to a written answer?', 'sp.other_air': 'On air (another department): {text}',
    'sp.assigned': 'Newly assigned question: {text}', 'sp.more': 'Show all', 'sp.less': 'Fold',
  },
);

/** Texts longer than this are folded to three lines until tapped. */
const FOLD_CHARS = 200;
const AT_A_GLANCE = 3;

initPage();
const client = staffClient();
const errors = new Map();
/** Ids whose long text the speaker unfolded. */
const unfolded = new Set();

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', () => {
    render();
    renderNoteForm();
  });
  client.addEventListener('change', (e) => {
    const mine = client.you?.department;
    if (e.detail.action === 'assign') {
      for (const q of e.detail.questions) if (q.department === mine) announce(t('sp.assigned', { text: q.text.slice(0, 140) }));
    }
    render();
  });
  onLang(() => {
    render();
    renderNoteForm();
  });
}

function renderNoteForm() {
  $('#note-box').replaceChildren(noteForm(client, fmtTime));
}

function render() {
  const ev = client.event;
  if (!ev) return;
  const mine = client.you.department;
  $('#dept-name').textContent = `${deptName(ev, mine)} — ${t('sp.queue')}`;
  const all = client.list((q) => q.department === mine);
  const air = all.find((q) => q.state === 'on_air');
  const queued = all.filter((q) => q.state === 'queued').sort(byQueue);
  const done = all.filter((q) => q.state !== 'queued' && q.state !== 'on_air').sort((a, b) => b.updated_at - a.updated_at);
  const other = client.list((q) => q.state === 'on_air' && q.department !== mine)[0];
  $('#other-air').hidden = !other;
  if (other) $('#other-air').textContent = t('sp.other_air', { text: other.text });

  const airBox = $('#air');
  airBox.className = `air${air ? '' : ' empty'}`;
  airBox.replaceChildren(
    h('p', { class: 'label', text: t('sp.on_air') }),
    ...(air ? cardBody(air, null, false) : [h('p', { class: 'muted', text: t('sp.nothing') })]),
  );
  // The on-air box is the question's item while it is on air (test hooks and styling).
  for (const key of ['id', 'questionId', 'state']) delete airBox.dataset[key];
  if (air) Object.assign(airBox.dataset, { id: air.id, questionId: air.id, state: 'on_air' });
  $('#empty').hidden = queued.length > 0 || !!air;
  $('#next').replaceChildren(...queued.slice(0, AT_A_GLANCE).map((q, i) => card(q, i + 1)));
  const rest = queued.slice(AT_A_GLANCE);
  $('#rest-box').hidden = rest.length === 0;
  $('#rest-summary').textContent = t('sp.rest', { n: rest.length });
  $('#rest').replaceChildren(...rest.map((q, i) => card(q, AT_A_GLANCE + i + 1)));
  $('#done-box').hidden = done.length === 0;
  $('#done-summary').textContent = t('sp.done', { n: done.length });
  $('#done').replaceChildren(...done.map((q) => card(q, null)));
}

function card(q, pos) {
  const long = q.text.length > FOLD_CHARS && !unfolded.has(q.id);
  return h(
    'li',
    { class: `card ${q.state}${long ? ' folded' : ''}`, attrs: { 'data-id': q.id, 'data-question-id': q.id, 'data-state': q.state } },
    ...cardBody(q, pos, q.text.length > FOLD_CHARS),
  );
}

function cardBody(q, pos, foldable) {
  const ev = client.event;
  const err = errors.get(q.id);
  const canWrite = q.state === 'queued' || q.state === 'on_air';
  const open = unfolded.has(q.id);
  return [
    h(
      'div',
      { class: 'meta' },
      pos && h('span', { class: 'pos', text: `${pos}.` }),
      q.state !== 'queued' && q.state !== 'on_air' && h('span', { class: `badge st-${q.state}`, text: stateLabel(q.state) }),
      h('span', { text: hallName(ev, q.hall) }),
      q.group && h('span', { text: groupName(ev, q.group) }),
      q.votes > 1 && h('span', { class: 'votes', text: t('common.votes', { n: q.votes }) }),
      q.display_name && h('span', { text: q.display_name }),
      h(
        'span',
        { class: 'actions' },
        foldable && h('button', { text: open ? t('sp.less') : t('sp.more'), class: 'more', attrs: { type: 'button', 'aria-expanded': open ? 'true' : 'false' }, on: { click: () => toggleFold(q.id) } }),
        canWrite && h('button', { text: t('sp.written'), attrs: { type: 'button', 'data-act': 'written' }, on: { click: () => written(q) } }),
      ),
    ),
    h('p', { class: 'text', text: q.text }),
    err ? h('p', { class: 'error', attrs: { role: 'alert' }, text: err }) : null,
  ].filter(Boolean);
}

function toggleFold(id) {
  if (unfolded.has(id)) unfolded.delete(id);
  else unfolded.add(id);
  render();
}

async function written(q) {
  if (!window.confirm(t('sp.written.confirm'))) return;
  try {
    await client.command({ type: 'defer', question: q.id, version: q.version });
    errors.delete(q.id);
  } catch (err) {
    errors.set(q.id, errorText(err));
  }
  render();
}
