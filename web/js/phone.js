// Participant's phone (360 px, weak 3G): write a question, optionally leave
// details for a written answer with explicit consent, get a receipt link.
// Submission is a plain HTTP POST (works where WebSocket does not); a failed
// POST is retried with the same question id, which the server deduplicates.
// The WebSocket only shows what is on air now. Keep this page small.

import { Client, hashParams, uuid } from './client.js';
import { addStrings, t, onLang, lang } from './i18n.js';
import { h, $, bindStatus, announce, initPage, fillSelect } from './ui.js';

addStrings(
  {
    'ph.page_title': 'Gửi câu hỏi — Đối thoại với thanh niên', 'ph.title': 'Gửi câu hỏi', 'ph.text': 'Câu hỏi, ý kiến của bạn', 'ph.group': 'Nhóm vấn đề', 'ph.personal': 'Thông tin để nhận trả lời (không bắt buộc)',
    'ph.name': 'Họ tên', 'ph.age': 'Tuổi', 'ph.org': 'Trường học / nơi làm việc', 'ph.phone': 'Số điện thoại', 'ph.show_name': 'Cho phép hiển thị tên tôi cùng câu hỏi',
    'ph.consent': 'Tôi đồng ý cho Ban tổ chức lưu các thông tin trên chỉ để trả lời câu hỏi này; thông tin sẽ được xoá khi kết thúc việc trả lời.',
    'ph.submit': 'Gửi câu hỏi', 'ph.mine': 'Câu hỏi tôi đã gửi', 'ph.empty': 'Bạn chưa viết câu hỏi', 'ph.consent_req': 'Bạn đã điền thông tin cá nhân: hãy đánh dấu đồng ý, hoặc xoá các thông tin đó',
    'ph.too_long': 'Câu hỏi quá dài (tối đa {n} ký tự)', 'ph.sending': 'Đang gửi…', 'ph.waiting': 'Chưa gửi được (mạng yếu); sẽ tự gửi lại',
    'ph.receipt': 'Theo dõi câu hỏi', 'ph.thanks': 'Đã gửi. Giữ đường dẫn theo dõi để xem trạng thái và câu trả lời.', 'ph.bad_link': 'Đường dẫn thiếu mã sự kiện. Hãy quét lại mã QR tại hội trường.',
    'ph.on_air': 'Đang trả lời: {text}', 'ph.refused': 'Không gửi được: {err}',
  },
  {
    'ph.page_title': 'Ask a question — Dialogue with young people', 'ph.title': 'Ask a question', 'ph.text': 'Your question or opinion', 'ph.group': 'Issue group', 'ph.personal': 'Details for a written answer (optional)',
    'ph.name': 'Name', 'ph.age': 'Age', 'ph.org': 'School / workplace', 'ph.phone': 'Phone', 'ph.show_name': 'My name may be shown with the question',
    'ph.consent': 'I agree that the organisers keep these details only to answer this question; they are erased once the answer is done.',
    'ph.submit': 'Send question', 'ph.mine': 'My questions', 'ph.empty': 'Please write your question', 'ph.consent_req': 'You gave personal details: tick the consent box, or clear them',
    'ph.too_long': 'The question is too long (at most {n} characters)', 'ph.sending': 'Sending…', 'ph.waiting': 'Not sent yet (weak network); retrying automatically',
    'ph.receipt': 'Follow your question', 'ph.thanks': 'Sent. Keep the follow link to see its status and the answer.', 'ph.bad_link': 'The link has no event code. Scan the QR code in the hall again.',
    'ph.on_air': 'On air now: {text}', 'ph.refused': 'Not sent: {err}',
  },
);

initPage();
const params = hashParams();
const EVENT = params.get('event');
const HALL = params.get('hall');
const MINE = 'doithoai.mine';
let maxChars = 2000;

const device = (() => {
  let d = localStorage.getItem('doithoai.device');
  if (!d) localStorage.setItem('doithoai.device', (d = uuid()));
  return d;
})();

const mine = () => JSON.parse(localStorage.getItem(MINE) ?? '[]');
const saveMine = (list) => localStorage.setItem(MINE, JSON.stringify(list));

if (!EVENT) {
  $('#bad-link').hidden = false;
  $('#ask').hidden = true;
} else {
  loadEvent();
  const client = new Client(() => ({ event: EVENT, hall: HALL, device })).start();
  bindStatus(client, $('#conn'));
  const showAir = () => {
    const air = client.list((q) => q.state === 'on_air')[0];
    $('#on-air').hidden = !air;
    if (air) $('#on-air').textContent = t('ph.on_air', { text: air.text });
  };
  client.addEventListener('change', showAir);
  onLang(showAir);
  $('#ask').addEventListener('submit', ask);
  window.addEventListener('online', retry);
  setInterval(retry, 15000);
  renderMine();
  retry();
}

let event = null;
async function loadEvent() {
  try {
    const r = await fetch(`/api/events/${encodeURIComponent(EVENT)}`);
    if (!r.ok) throw new Error(String(r.status));
    event = await r.json();
    maxChars = event.max_question_chars;
    $('#text').maxLength = maxChars;
    fillGroups();
    $('#event-name').textContent = `${event.name} — ${event.halls.find((x) => x.id === HALL)?.name ?? ''}`;
  } catch {
    setTimeout(loadEvent, 5000);
  }
}
function fillGroups() {
  if (!event) return;
  fillSelect($('#group'), [{ value: '', label: '—' }, ...event.groups.map((g) => ({ value: g.id, label: lang() === 'en' && g.name_en ? g.name_en : g.name }))]);
}
onLang(() => {
  fillGroups();
  renderMine();
});

function ask(e) {
  e.preventDefault();
  const err = $('#form-error');
  const text = $('#text').value.normalize('NFC').trim();
  if (!text) return (err.textContent = t('ph.empty'));
  if ([...text].length > maxChars) return (err.textContent = t('ph.too_long', { n: maxChars }));
  const f = (id) => $(id).value.normalize('NFC').trim() || null;
  const age = parseInt($('#age').value, 10);
  const q = { name: f('#name'), organization: f('#org'), phone: f('#phone'), age: age > 0 && age < 256 ? age : null, show_name: $('#show-name').checked };
  const personal = !!(q.name || q.organization || q.phone || q.age);
  const consent = $('#consent').checked;
  if (personal && !consent) return (err.textContent = t('ph.consent_req'));
  err.textContent = '';
  const body = { id: uuid(), text, hall: HALL, group: $('#group').value || null, consent: personal && consent, device };
  if (personal) body.questioner = q;
  // Remember it before sending: a lost reply or a closed tab must not lose the question.
  saveMine([{ id: body.id, text, body }, ...mine()]);
  $('#ask').reset();
  renderMine();
  send(body.id);
}

const inflight = new Set();
async function send(id) {
  const item = mine().find((x) => x.id === id);
  if (!item?.body || inflight.has(id)) return;
  inflight.add(id);
  try {
    const r = await fetch(`/api/events/${encodeURIComponent(EVENT)}/questions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(item.body) });
    const reply = await r.json().catch(() => ({}));
    const update = (patch) => saveMine(mine().map((x) => (x.id === id ? { ...x, ...patch } : x)));
    if (r.ok) {
      update({ body: undefined, receipt: reply.receipt });
      announce(t('ph.thanks'));
    } else if (r.status < 500 && r.status !== 429) {
      update({ body: undefined, error: (lang() === 'en' ? reply.message_en : reply.message) || String(r.status) });
    }
  } catch {
    // network down: kept with its body, retried later with the same id
  } finally {
    inflight.delete(id);
    renderMine();
  }
}

function retry() {
  for (const x of mine()) if (x.body) send(x.id);
}

function renderMine() {
  const list = mine();
  $('#sent').hidden = list.length === 0;
  $('#mine').replaceChildren(
    ...list.map((x) =>
      h(
        'li',
        { class: 'card', attrs: { 'data-id': x.id } },
        h('p', { class: 'text', text: x.text }),
        x.receipt && h('p', {}, h('a', { class: 'btn primary receipt-link', text: t('ph.receipt'), attrs: { href: `/receipt.html#q=${x.id}&r=${x.receipt}` } })),
        x.body && h('p', { class: 'muted', text: inflight.has(x.id) ? t('ph.sending') : t('ph.waiting') }),
        x.error && h('p', { class: 'error', text: t('ph.refused', { err: x.error }) }),
      ),
    ),
  );
}
