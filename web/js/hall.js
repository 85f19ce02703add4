// Hall operator: types in questions raised on the floor of a district hall,
// asks for the floor, and sees what became of the hall's questions and what
// is on air. Questions typed while the link is down wait in an outbox in
// localStorage (kept across a reload) and are sent, in order, when the link
// returns. Each keeps the UUID it got when typed and `submit` is idempotent
// by id, so a resend after a lost acknowledgement never makes a duplicate.

import { staffClient, hashParams, uuid } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, bindStatus, announce, hallName, deptName, groupName, stateLabel, fmtTime, initPage, errorText, fillSelect } from './ui.js';

addStrings(
  {
    'hall.page_title': 'Điểm cầu — doithoai', 'hall.title': 'Điểm cầu', 'hall.new': 'Nhập câu hỏi tại điểm cầu', 'hall.text': 'Nội dung câu hỏi', 'hall.group': 'Nhóm vấn đề',
    'hall.name': 'Họ tên (không bắt buộc)', 'hall.age': 'Tuổi', 'hall.org': 'Trường học / nơi làm việc', 'hall.phone': 'Số điện thoại',
    'hall.show_name': 'Đồng ý hiển thị tên cùng câu hỏi', 'hall.consent': 'Người hỏi đồng ý cho lưu thông tin cá nhân để trả lời',
    'hall.submit': 'Gửi câu hỏi', 'hall.floor': 'Xin phát biểu trực tiếp', 'hall.floor_note': 'Ghi chú (ai phát biểu, về vấn đề gì)',
    'hall.floor_ask': 'Xin phát biểu', 'hall.floor_cancel': 'Huỷ xin phát biểu', 'hall.outbox': 'Chờ gửi',
    'hall.outbox.none': 'Không có câu hỏi nào chờ gửi.', 'hall.outbox.some': '{n} câu hỏi sẽ tự gửi khi có kết nối.',
    'hall.list': 'Câu hỏi của điểm cầu', 'hall.empty_text': 'Cần nhập nội dung câu hỏi', 'hall.consent_req': 'Có thông tin cá nhân thì cần đánh dấu đồng ý',
    'hall.too_long': 'Câu hỏi quá dài (tối đa {n} ký tự)', 'hall.queued_local': 'Đã lưu, sẽ gửi khi có kết nối', 'hall.sent': 'Đã gửi',
    'hall.floor.none': 'Chưa xin phát biểu.', 'hall.floor.requested': 'Đã xin phát biểu — chờ điều phối.', 'hall.floor.granted': 'Điểm cầu đang được phát biểu.',
    'hall.floor.declined': 'Yêu cầu phát biểu bị từ chối.', 'hall.rejected_send': 'Không gửi được: {err}', 'hall.dept': 'Giao: {d}', 'hall.discard': 'Bỏ câu hỏi này',
  },
  {
    'hall.page_title': 'Hall — doithoai', 'hall.title': 'Hall', 'hall.new': 'Enter a question raised in the hall', 'hall.text': 'Question', 'hall.group': 'Issue group',
    'hall.name': 'Name (optional)', 'hall.age': 'Age', 'hall.org': 'School / workplace', 'hall.phone': 'Phone',
    'hall.show_name': 'Agrees to show the name with the question', 'hall.consent': 'The asker consents to storing these personal details for the answer',
    'hall.submit': 'Send question', 'hall.floor': 'Ask for the floor', 'hall.floor_note': 'Note (who wants to speak, on what)',
    'hall.floor_ask': 'Ask for the floor', 'hall.floor_cancel': 'Cancel floor request', 'hall.outbox': 'Waiting to send',
    'hall.outbox.none': 'Nothing waiting to be sent.', 'hall.outbox.some': '{n} questions will be sent automatically when the link returns.',
    'hall.list': "This hall's questions", 'hall.empty_text': 'Please type the question', 'hall.consent_req': 'Personal details need the consent box ticked',
    'hall.too_long': 'The question is too long (at most {n} characters)', 'hall.queued_local': 'Saved; it will be sent when the link returns', 'hall.sent': 'Sent',
    'hall.floor.none': 'No floor request.', 'hall.floor.requested': 'Floor requested — waiting for the moderators.', 'hall.floor.granted': 'This hall has the floor.',
    'hall.floor.declined': 'The floor request was declined.', 'hall.rejected_send': 'Could not send: {err}', 'hall.dept': 'Assigned: {d}', 'hall.discard': 'Discard this question',
  },
);

initPage();
const client = staffClient();
/** One outbox per seat, so two seats tried in one browser never mix. */
const OUTBOX = `doithoai.outbox.${(hashParams().get('token') ?? '').slice(0, 12)}`;
let flushing = false;
/** Failures after which the same submission is tried again later. */
// Submissions are idempotent by id, so resending after an unknown outcome is safe.
const RETRY = new Set(['disconnected', 'store_unavailable', 'disk_full', 'outcome_unknown', 'busy', 'shutting_down', 'rate_limited']);
/** Outbox items the server refused for good (invalid), shown with the reason. */
const refused = new Map();

function loadOutbox() {
  try {
    return JSON.parse(localStorage.getItem(OUTBOX) ?? '[]');
  } catch {
    return [];
  }
}
function saveOutbox(items) {
  localStorage.setItem(OUTBOX, JSON.stringify(items));
}

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', () => {
    fillSelect($('#group'), [{ value: '', label: t('common.no_group') }, ...client.event.groups.map((g) => ({ value: g.id, label: groupName(client.event, g.id) }))]);
    render();
    flush();
  });
  client.addEventListener('change', render);
  client.addEventListener('status', renderOutbox);
  onLang(() => {
    if (client.event) fillSelect($('#group'), [{ value: '', label: t('common.no_group') }, ...client.event.groups.map((g) => ({ value: g.id, label: groupName(client.event, g.id) }))]);
    render();
  });
  $('#ask').addEventListener('submit', ask);
  $('#floor-ask').addEventListener('click', askFloor);
  $('#floor-cancel').addEventListener('click', cancelFloor);
  renderOutbox();
}

function ask(e) {
  e.preventDefault();
  const text = $('#text').value.normalize('NFC').trim();
  const err = $('#form-error');
  if (!text) return (err.textContent = t('hall.empty_text'));
  const max = client.event?.max_question_chars ?? 2000;
  if ([...text].length > max) return (err.textContent = t('hall.too_long', { n: max }));
  const field = (id) => $(id).value.normalize('NFC').trim() || null;
  const age = parseInt($('#age').value, 10);
  const questioner = { name: field('#name'), organization: field('#org'), phone: field('#phone'), age: age > 0 && age < 256 ? age : null, show_name: $('#show-name').checked };
  const personal = questioner.name || questioner.organization || questioner.phone || questioner.age;
  if (personal && !$('#consent').checked) return (err.textContent = t('hall.consent_req'));
  err.textContent = '';
  const item = { id: uuid(), text, group: $('#group').value || null, consent: !!personal && $('#consent').checked };
  if (personal) item.questioner = questioner;
  // Into the outbox first: from here on the question survives a dropped link or a reload.
  saveOutbox([...loadOutbox(), item]);
  $('#ask').reset();
  announce(client.status === 'connected' ? t('hall.sent') : t('hall.queued_local'));
  renderOutbox();
  flush();
}

/** Send waiting questions one by one, oldest first, while connected. */
async function flush() {
  if (flushing || client.status !== 'connected') return;
  flushing = true;
  try {
    for (;;) {
      const item = loadOutbox().find((x) => !refused.has(x.id));
      if (!item || client.status !== 'connected') break;
      try {
        await client.command({ type: 'submit', hall: client.you.hall, ...item });
        saveOutbox(loadOutbox().filter((x) => x.id !== item.id));
      } catch (err) {
        // A dropped link keeps it for the next connection; a refusal is final.
        if (RETRY.has(err.code)) break;
        refused.set(item.id, errorText(err));
      }
      renderOutbox();
    }
  } finally {
    flushing = false;
    renderOutbox();
    // Something still waits though the link is up (the server was busy): try again shortly.
    if (client.status === 'connected' && loadOutbox().some((x) => !refused.has(x.id))) setTimeout(flush, 2000);
  }
}

function renderOutbox() {
  const items = loadOutbox();
  $('#outbox-note').textContent = items.length ? t('hall.outbox.some', { n: items.length }) : t('hall.outbox.none');
  $('#outbox').replaceChildren(
    ...items.map((x) =>
      h(
        'li',
        { class: 'card outbox', attrs: { 'data-id': x.id, 'data-question-id': x.id } },
        h('p', { class: 'text', text: x.text }),
        refused.has(x.id) && h('p', { class: 'error', text: t('hall.rejected_send', { err: refused.get(x.id) }) }),
        refused.has(x.id) && h('button', { text: '✕', attrs: { type: 'button', 'aria-label': t('hall.discard') }, on: { click: () => { saveOutbox(loadOutbox().filter((y) => y.id !== x.id)); refused.delete(x.id); renderOutbox(); } } }),
      ),
    ),
  );
}

function myFloor() {
  const mine = [...client.floor.values()].filter((f) => f.hall === client.you?.hall).sort((a, b) => b.requested_at - a.requested_at);
  return mine[0];
}

function render() {
  const ev = client.event;
  if (!ev) return;
  const hall = client.you.hall;
  $('#hall-name').textContent = `${t('hall.title')}: ${hallName(ev, hall)}`;
  const air = client.list((q) => q.state === 'on_air')[0];
  // Nothing on air: no banner at all (an empty yellow box reads as an alarm).
  $('#on-air').hidden = !air;
  $('#on-air').textContent = air ? `${t('common.on_air')}: ${air.text} — ${hallName(ev, air.hall)}` : '';
  const qs = client.list((q) => q.hall === hall || (q.halls ?? []).includes(hall)).sort((a, b) => b.created_at - a.created_at);
  $('#questions').replaceChildren(
    ...qs.map((q) =>
      h(
        'li',
        { class: `card ${q.state}`, attrs: { 'data-id': q.id, 'data-question-id': q.id, 'data-state': q.state } },
        h('div', { class: 'meta' }, h('span', { class: `badge st-${q.state}`, text: stateLabel(q.state) }), h('time', { text: fmtTime(q.created_at) }), q.group && h('span', { text: groupName(ev, q.group) }), q.department && h('span', { text: t('hall.dept', { d: deptName(ev, q.department) }) })),
        h('p', { class: 'text', text: q.text }),
      ),
    ),
  );
  const f = myFloor();
  const open = f && (f.state === 'requested' || f.state === 'granted');
  $('#floor-state').textContent = !f ? t('hall.floor.none') : f.state === 'requested' ? t('hall.floor.requested') : f.state === 'granted' ? t('hall.floor.granted') : f.state === 'declined' ? t('hall.floor.declined') : t('hall.floor.none');
  $('#floor-state').dataset.state = f?.state ?? 'none';
  $('#floor-ask').hidden = !!open;
  $('#floor-cancel').hidden = !(f && f.state === 'requested');
  renderOutbox();
}

async function askFloor() {
  $('#floor-error').textContent = '';
  try {
    const note = $('#floor-note').value.normalize('NFC').trim() || null;
    await client.command({ type: 'request_floor', id: uuid(), note });
    $('#floor-note').value = '';
  } catch (err) {
    $('#floor-error').textContent = errorText(err);
  }
}

async function cancelFloor() {
  const f = myFloor();
  if (!f) return;
  try {
    await client.command({ type: 'cancel_floor', request: f.id });
  } catch (err) {
    $('#floor-error').textContent = errorText(err);
  }
}
