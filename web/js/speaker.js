// Speaker's tablet on the podium: only this department's questions, in the
// moderators' running order, the one on air highlighted, in large type, and a
// "will answer in writing" button (a defer with no agency: the server files it
// under the speaker's own department).

import { staffClient } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, bindStatus, announce, hallName, deptName, groupName, stateLabel, initPage, errorText, byQueue } from './ui.js';

addStrings(
  {
    'sp.page_title': 'Diễn giả — doithoai', 'sp.title': 'Câu hỏi của sở, ngành', 'sp.queue': 'Thứ tự trả lời', 'sp.empty': 'Chưa có câu hỏi nào được giao.', 'sp.done': 'Đã xử lý',
    'sp.written': 'Sẽ trả lời bằng văn bản', 'sp.written.confirm': 'Chuyển câu hỏi này sang trả lời bằng văn bản?', 'sp.other_air': 'Đang trả lời (sở, ngành khác): {text}',
    'sp.assigned': 'Câu hỏi mới được giao: {text}',
  },
  {
    'sp.page_title': 'Speaker — doithoai', 'sp.title': 'Questions for this department', 'sp.queue': 'Running order', 'sp.empty': 'No questions assigned yet.', 'sp.done': 'Handled',
    'sp.written': 'Will answer in writing', 'sp.written.confirm': 'Move this question to a written answer?', 'sp.other_air': 'On air (another department): {text}',
    'sp.assigned': 'Newly assigned question: {text}',
  },
);

initPage();
const client = staffClient();
const errors = new Map();

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', render);
  client.addEventListener('change', (e) => {
    const mine = client.you?.department;
    if (e.detail.action === 'assign') {
      for (const q of e.detail.questions) if (q.department === mine) announce(t('sp.assigned', { text: q.text.slice(0, 140) }));
    }
    render();
  });
  onLang(render);
}

function render() {
  const ev = client.event;
  if (!ev) return;
  const mine = client.you.department;
  $('#dept-name').textContent = `${deptName(ev, mine)} — ${t('sp.queue')}`;
  const all = client.list((q) => q.department === mine);
  const live = all.filter((q) => q.state === 'queued' || q.state === 'on_air').sort((a, b) => (b.state === 'on_air') - (a.state === 'on_air') || byQueue(a, b));
  const done = all.filter((q) => q.state !== 'queued' && q.state !== 'on_air').sort((a, b) => b.updated_at - a.updated_at);
  const other = client.list((q) => q.state === 'on_air' && q.department !== mine)[0];
  $('#other-air').hidden = !other;
  if (other) $('#other-air').textContent = t('sp.other_air', { text: other.text });
  $('#empty').hidden = live.length > 0;
  let pos = 0;
  $('#queue').replaceChildren(...live.map((q) => card(q, q.state === 'on_air' ? null : ++pos)));
  $('#done').replaceChildren(...done.map((q) => card(q, null)));
}

function card(q, pos) {
  const ev = client.event;
  const err = errors.get(q.id);
  const canWrite = q.state === 'queued' || q.state === 'on_air';
  return h(
    'li',
    { class: `card ${q.state}`, attrs: { 'data-id': q.id, 'data-state': q.state, 'aria-current': q.state === 'on_air' ? 'true' : null } },
    h(
      'div',
      { class: 'meta' },
      pos && h('span', { class: 'pos', text: `${pos}.` }),
      h('span', { class: `badge st-${q.state}`, text: stateLabel(q.state) }),
      h('span', { text: hallName(ev, q.hall) }),
      q.group && h('span', { text: groupName(ev, q.group) }),
      q.votes > 1 && h('span', { text: t('common.votes', { n: q.votes }) }),
      q.display_name && h('span', { text: q.display_name }),
    ),
    h('p', { class: 'text', text: q.text }),
    canWrite && h('div', { class: 'actions' }, h('button', { text: t('sp.written'), attrs: { type: 'button', 'data-act': 'written' }, on: { click: () => written(q) } })),
    err && h('p', { class: 'error', attrs: { role: 'alert' }, text: err }),
  );
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
