// Projector display in every hall and the livestream overlay (1920×1080):
// the question on air with its hall and department, the hall that has the
// floor, and the next few queued questions. The server sends displays only
// the public view (no personal data beyond a consented display name). While
// reconnecting the last state stays on screen: nothing blanks or flickers,
// only the small connection badge changes.

import { staffClient } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, bindStatus, hallName, deptName, initPage, byQueue } from './ui.js';

addStrings({ 'dp.page_title': 'Màn hình điểm cầu — doithoai', 'dp.next': 'Câu hỏi tiếp theo', 'dp.none_next': 'Chưa có câu hỏi trong hàng chờ' }, { 'dp.page_title': 'Hall display — doithoai', 'dp.next': 'Up next', 'dp.none_next': 'No questions queued yet' });

/** How many upcoming questions fit under the one on air. */
const NEXT = 4;

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
  $('#theme').textContent = ev.theme || ev.name;
  $('#here').textContent = client.you.hall ? hallName(ev, client.you.hall) : '';
  const air = client.list((q) => q.state === 'on_air')[0];
  $('#air').dataset.id = air?.id ?? '';
  $('#air-text').textContent = air ? air.text : t('common.nothing_on_air');
  const who = air ? [hallName(ev, air.hall), air.department && deptName(ev, air.department), air.display_name].filter(Boolean).join(' · ') : '';
  $('#air-who').textContent = who;
  const floor = [...client.floor.values()].find((f) => f.state === 'granted');
  $('#floor-now').hidden = !floor;
  if (floor) $('#floor-now').textContent = t('common.floor_granted', { hall: hallName(ev, floor.hall) });
  const next = client
    .list((q) => q.state === 'queued' || q.state === 'approved')
    .sort((a, b) => (a.state === 'queued' ? 0 : 1) - (b.state === 'queued' ? 0 : 1) || byQueue(a, b))
    .slice(0, NEXT);
  $('#next').replaceChildren(
    ...(next.length ? next.map((q) => h('li', { attrs: { 'data-id': q.id }, text: `${q.text} — ${hallName(ev, q.hall)}${q.department ? ` · ${deptName(ev, q.department)}` : ''}` })) : [h('li', { class: 'muted', text: t('dp.none_next') })]),
  );
}
