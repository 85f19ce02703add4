// The chair's view: the whole running order at a glance, read-only. What is
// on air, who has the floor, and each department's queue in order, with a
// count of what is still waiting for moderation.

import { staffClient } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, bindStatus, hallName, deptName, stateLabel, initPage, byQueue } from './ui.js';

addStrings(
  { 'ch.page_title': 'Chủ trì — doithoai', 'ch.title': 'Điều hành đối thoại', 'ch.counts': '{pending} chờ duyệt · {approved} đã duyệt chưa giao · {queued} trong hàng chờ · {answered} đã trả lời · {deferred} trả lời bằng văn bản', 'ch.empty': 'Hàng chờ trống' },
  { 'ch.page_title': 'Chair — doithoai', 'ch.title': 'Dialogue running order', 'ch.counts': '{pending} pending · {approved} approved, unassigned · {queued} queued · {answered} answered · {deferred} written answers', 'ch.empty': 'Queue is empty' },
);

initPage();
const client = staffClient();

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', render);
  client.addEventListener('change', render);
  onLang(render);
}

function render() {
  const ev = client.event;
  if (!ev) return;
  $('#event-name').textContent = ev.name;
  const n = (pred) => client.list(pred).length;
  $('#counts').textContent = t('ch.counts', {
    pending: n((q) => q.state === 'pending'),
    approved: n((q) => q.state === 'approved'),
    queued: n((q) => q.state === 'queued'),
    answered: n((q) => q.state === 'answered'),
    deferred: n((q) => ['deferred', 'answer_drafted', 'answer_sent', 'published'].includes(q.state)),
  });
  const air = client.list((q) => q.state === 'on_air')[0];
  $('#air').textContent = air ? air.text : t('common.nothing_on_air');
  $('#air-who').textContent = air ? ` — ${hallName(ev, air.hall)} · ${deptName(ev, air.department)}` : '';
  const floor = [...client.floor.values()].find((f) => f.state === 'granted');
  $('#floor-now').textContent = floor ? ` · ${t('common.floor_granted', { hall: hallName(ev, floor.hall) })}` : '';
  $('#order').replaceChildren(
    ...ev.departments.map((d) => {
      const queue = client.list((q) => q.department === d.id && (q.state === 'queued' || q.state === 'on_air')).sort(byQueue);
      return h(
        'section',
        { class: 'panel', attrs: { 'data-dept': d.id } },
        h('h2', { text: `${deptName(ev, d.id)} (${queue.length})` }),
        queue.length
          ? h('ol', { class: 'qlist' }, queue.map((q) => h('li', { class: `card ${q.state}`, attrs: { 'data-id': q.id } }, h('div', { class: 'meta' }, h('span', { class: `badge st-${q.state}`, text: stateLabel(q.state) }), h('span', { text: hallName(ev, q.hall) })), h('p', { class: 'text', text: q.text }))))
          : h('p', { class: 'muted', text: t('ch.empty') }),
      );
    }),
  );
}
