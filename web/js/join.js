// Join sheets for the admin: per hall, the participants' QR code (an SVG the
// server renders) and link, and the links of that hall's seats; first a sheet
// with the central seats. Printed, each sheet fills one A4 page (app.css).

import { hashParams } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, initPage } from './ui.js';

addStrings(
  {
    'jn.page_title': 'Liên kết tham gia — doithoai', 'jn.title': 'Liên kết tham gia', 'jn.print': 'In (mỗi điểm cầu một trang A4)', 'jn.warn': 'Các liên kết dưới đây chứa mã truy cập của từng vị trí: chỉ giao cho đúng người.',
    'jn.central': 'Các vị trí tại điểm cầu chính', 'jn.participants': 'Thanh niên quét mã để gửi câu hỏi', 'jn.qr_alt': 'Mã QR gửi câu hỏi tại {hall}',
    'jn.failed': 'Không tải được danh sách liên kết: {err}',
    'role.admin': 'Quản trị', 'role.moderator': 'Điều phối', 'role.chair': 'Chủ trì', 'role.speaker': 'Diễn giả', 'role.hall_operator': 'Kỹ thuật điểm cầu', 'role.display': 'Màn hình', 'role.follow_up': 'Theo dõi trả lời',
  },
  {
    'jn.page_title': 'Join links — doithoai', 'jn.title': 'Join links', 'jn.print': 'Print (one A4 page per hall)', 'jn.warn': "These links carry each seat's access token: hand them only to the right person.",
    'jn.central': 'Seats at the host hall', 'jn.participants': 'Young people scan this to send a question', 'jn.qr_alt': 'QR code for sending questions in {hall}',
    'jn.failed': 'Could not load the links: {err}',
    'role.admin': 'Admin', 'role.moderator': 'Moderator', 'role.chair': 'Chair', 'role.speaker': 'Speaker', 'role.hall_operator': 'Hall operator', 'role.display': 'Display', 'role.follow_up': 'Follow-up officer',
  },
);

initPage();
const token = hashParams().get('token');
let data = null;
$('#print').addEventListener('click', () => window.print());

if (!token) {
  $('#notoken').hidden = false;
} else {
  load();
  onLang(render);
}

async function load() {
  try {
    const r = await fetch('/api/admin/tokens', { headers: { authorization: `Bearer ${token}` } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.message_en || body.message || String(r.status));
    data = body;
    render();
  } catch (e) {
    $('#error').hidden = false;
    $('#error').textContent = t('jn.failed', { err: e.message });
  }
}

function links(seats) {
  return h('dl', { class: 'links' }, seats.flatMap((s) => [h('dt', { text: `${t(`role.${s.role}`)} — ${s.slot}` }), h('dd', {}, h('a', { text: s.url, attrs: { href: s.url } }))]));
}

function render() {
  if (!data) return;
  $('#event-name').textContent = data.event.name;
  const central = data.tokens.filter((s) => !s.hall);
  const sheets = [h('section', { class: 'sheet', attrs: { 'data-sheet': 'central' } }, h('h2', { text: t('jn.central') }), h('p', { class: 'muted', text: data.event.name }), links(central))];
  for (const hall of data.halls) {
    sheets.push(
      h(
        'section',
        { class: 'sheet', attrs: { 'data-sheet': hall.id } },
        h('h2', { text: hall.name }),
        h('p', { class: 'muted', text: data.event.name }),
        h('p', { text: t('jn.participants') }),
        h('img', { class: 'qr', attrs: { src: hall.qr, alt: t('jn.qr_alt', { hall: hall.name }), width: 240, height: 240 } }),
        h('p', { class: 'links' }, h('a', { text: hall.participant_url, attrs: { href: hall.participant_url } })),
        links(data.tokens.filter((s) => s.hall === hall.id)),
      ),
    );
  }
  $('#sheets').replaceChildren(...sheets);
}
