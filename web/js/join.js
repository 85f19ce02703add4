// Join sheets for the admin, in two kinds that are printed separately:
// - a poster per hall, to pin up where everyone sees it: only the
//   participants' QR code (large, scannable from a few metres) and short link;
// - confidential staff sheets (central seats, then each hall's), every seat's
//   join link with a QR code a tablet can scan. Those links carry access
//   tokens, so they never share a page with a poster.

import { hashParams } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, initPage } from './ui.js';

addStrings(
  {
    'jn.page_title': 'Liên kết tham gia — doithoai', 'jn.title': 'Liên kết tham gia',
    'jn.print_posters': 'In áp phích điểm cầu', 'jn.print_staff': 'In phiếu nhân sự (MẬT)',
    'jn.posters_title': 'Áp phích điểm cầu — dán công khai, chỉ có mã QR gửi câu hỏi',
    'jn.staff_title': 'Phiếu nhân sự — MẬT: liên kết có mã truy cập, chỉ giao cho đúng người',
    'jn.confidential': 'MẬT — chỉ dành cho ban tổ chức',
    'jn.central': 'Các vị trí tại điểm cầu chính', 'jn.hall_seats': 'Các vị trí tại {hall}',
    'jn.participants': 'Quét mã để gửi câu hỏi cho lãnh đạo', 'jn.qr_alt': 'Mã QR gửi câu hỏi tại {hall}',
    'jn.seat_qr_alt': 'Mã QR mở trang của vị trí {seat}',
    'jn.failed': 'Không tải được danh sách liên kết: {err}',
    'role.admin': 'Quản trị', 'role.moderator': 'Điều phối', 'role.chair': 'Chủ trì', 'role.speaker': 'Diễn giả', 'role.hall_operator': 'Kỹ thuật điểm cầu', 'role.display': 'Màn hình', 'role.follow_up': 'Theo dõi trả lời',
  },
  {
    'jn.page_title': 'Join links — doithoai', 'jn.title': 'Join links',
    'jn.print_posters': 'Print hall posters', 'jn.print_staff': 'Print staff sheets (CONFIDENTIAL)',
    'jn.posters_title': 'Hall posters — to pin up publicly; only the QR code for sending questions',
    'jn.staff_title': 'Staff sheets — CONFIDENTIAL: links carry access tokens, hand them only to the right person',
    'jn.confidential': 'MẬT — CONFIDENTIAL, organisers only',
    'jn.central': 'Seats at the host hall', 'jn.hall_seats': 'Seats in {hall}',
    'jn.participants': 'Scan to send your question to the leaders', 'jn.qr_alt': 'QR code for sending questions in {hall}',
    'jn.seat_qr_alt': "QR code opening the {seat} seat's page",
    'jn.failed': 'Could not load the links: {err}',
    'role.admin': 'Admin', 'role.moderator': 'Moderator', 'role.chair': 'Chair', 'role.speaker': 'Speaker', 'role.hall_operator': 'Hall operator', 'role.display': 'Display', 'role.follow_up': 'Follow-up officer',
  },
);

initPage();
const token = hashParams().get('token');
let data = null;

function printOnly(kind) {
  document.body.dataset.print = kind;
  window.print();
}
$('#print-posters').addEventListener('click', () => printOnly('posters'));
$('#print-staff').addEventListener('click', () => printOnly('staff'));
window.addEventListener('afterprint', () => delete document.body.dataset.print);

if (!token) {
  $('#notoken').hidden = false;
} else {
  load();
  onLang(render);
}

async function load() {
  try {
    const r = await fetch('/api/admin/tokens?qr=1', { headers: { authorization: `Bearer ${token}` } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.message_en || body.message || String(r.status));
    data = body;
    render();
  } catch (e) {
    $('#error').hidden = false;
    $('#error').textContent = t('jn.failed', { err: e.message });
  }
}

/** "Diễn giả — Sở Giáo dục và Đào tạo", "Điều phối 2": names people read, not slot ids. */
function seatName(s) {
  const role = t(`role.${s.role}`);
  const what = s.department_name || s.hall_name;
  if (what) return `${role} — ${what}`;
  const n = /-(\d+)$/.exec(s.slot);
  return n ? `${role} ${n[1]}` : role;
}

function seat(s) {
  const name = seatName(s);
  const qr = s.qr_svg ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(s.qr_svg)}` : null;
  return h(
    'div',
    { class: 'seat', attrs: { 'data-slot': s.slot } },
    qr ? h('img', { class: 'seat-qr', attrs: { src: qr, alt: t('jn.seat_qr_alt', { seat: name }) } }) : h('span'),
    h('div', {}, h('div', { class: 'who', text: name }), h('a', { class: 'url', text: s.url, attrs: { href: s.url } })),
  );
}

function staffSheet(id, title, seats) {
  return h(
    'section',
    { class: 'sheet staff-sheet', attrs: { 'data-sheet': id } },
    h('p', { class: 'confidential', text: t('jn.confidential') }),
    h('h2', { text: title }),
    h('p', { class: 'muted', text: data.event.name }),
    h('div', { class: 'seats' }, seats.map(seat)),
  );
}

function render() {
  if (!data) return;
  $('#event-name').textContent = data.event.name;
  const posters = data.halls.map((hall) =>
    h(
      'section',
      { class: 'sheet poster', attrs: { 'data-sheet': hall.id } },
      h('h2', { text: hall.name }),
      h('p', { class: 'event', text: data.event.name }),
      h('p', { class: 'call', text: t('jn.participants') }),
      h('img', { class: 'qr', attrs: { src: hall.qr, alt: t('jn.qr_alt', { hall: hall.name }) } }),
      h('p', { class: 'short', text: hall.participant_url }),
    ),
  );
  const staff = [staffSheet('staff-central', t('jn.central'), data.tokens.filter((s) => !s.hall))];
  for (const hall of data.halls) {
    const seats = data.tokens.filter((s) => s.hall === hall.id);
    if (seats.length) staff.push(staffSheet(`staff-${hall.id}`, t('jn.hall_seats', { hall: hall.name }), seats));
  }
  $('#posters').replaceChildren(...posters);
  $('#staff').replaceChildren(...staff);
}
