// Participant's phone (360 px, weak 3G): write a question, optionally leave
// details for a written answer with explicit consent (folded away, so the
// send button stays on screen), get a receipt link. Submission is a plain
// HTTP POST (works where WebSocket does not); a failed POST is retried with
// the same question id, which the server deduplicates. The WebSocket only
// shows what is on air and whether the event has ended, so its state is not
// shown: only an offline device gets a (calm) notice. "Câu hỏi khác", the
// other questions to vote for, lives in votes.js, loaded when opened. Keep
// this page small: its cold load is measured (tests/browser.rs).

import { Client, hashParams, uuid } from './client.js';
import { addStrings, t, onLang, lang } from './i18n.js';
import { h, $, announce, initPage, fillSelect } from './ui.js';

addStrings(
  {
    'ph.page_title': 'Gửi câu hỏi — Đối thoại với thanh niên', 'ph.title': 'Gửi câu hỏi', 'ph.text': 'Câu hỏi, ý kiến của bạn', 'ph.group': 'Nhóm vấn đề', 'ph.personal': 'Nhận trả lời bằng văn bản',
    'ph.personal_hint': 'Không bắt buộc. Để lại thông tin nếu bạn muốn nhận câu trả lời bằng văn bản.',
    'ph.name': 'Họ tên', 'ph.age': 'Tuổi', 'ph.org': 'Trường học / nơi làm việc', 'ph.phone': 'Số điện thoại', 'ph.show_name': 'Cho phép hiển thị tên tôi cùng câu hỏi',
    'ph.consent': 'Tôi đồng ý cho Ban tổ chức lưu các thông tin trên chỉ để trả lời câu hỏi này; thông tin sẽ được xoá khi kết thúc việc trả lời.',
    'ph.submit': 'Gửi câu hỏi', 'ph.mine': 'Câu hỏi tôi đã gửi', 'ph.empty': 'Bạn chưa viết câu hỏi', 'ph.consent_req': 'Bạn đã điền thông tin cá nhân: hãy đánh dấu đồng ý, hoặc xoá các thông tin đó',
    'ph.too_long': 'Câu hỏi quá dài (tối đa {n} ký tự)', 'ph.sending': 'Đang gửi…', 'ph.waiting': 'Chưa gửi được (mạng yếu); sẽ tự gửi lại',
    'ph.receipt': 'Theo dõi câu trả lời', 'ph.sent': 'Đã gửi ✓', 'ph.thanks': 'Câu hỏi đã đến Ban tổ chức. Giữ đường dẫn theo dõi để xem trạng thái và câu trả lời.',
    'ph.another': 'Gửi câu hỏi khác', 'ph.not_sent': 'Chưa gửi được', 'ph.bad_link': 'Đường dẫn thiếu mã sự kiện. Hãy quét lại mã QR tại hội trường.',
    'ph.on_air': 'Đang trả lời: {text}', 'ph.refused': 'Không gửi được: {err}', 'ph.offline': 'Không có mạng: câu hỏi sẽ tự gửi khi có mạng',
    'ph.closed': 'Buổi đối thoại đã kết thúc, không nhận thêm câu hỏi. Cảm ơn bạn đã quan tâm!', 'ph.others': 'Câu hỏi khác',
  },
  {
    'ph.page_title': 'Ask a question — Dialogue with young people', 'ph.title': 'Ask a question', 'ph.text': 'Your question or opinion', 'ph.group': 'Issue group', 'ph.personal': 'Get a written answer',
    'ph.personal_hint': 'Optional. Leave your details if you would like a written answer.',
    'ph.name': 'Name', 'ph.age': 'Age', 'ph.org': 'School / workplace', 'ph.phone': 'Phone', 'ph.show_name': 'My name may be shown with the question',
    'ph.consent': 'I agree that the organisers keep these details only to answer this question; they are erased once the answer is done.',
    'ph.submit': 'Send question', 'ph.mine': 'My questions', 'ph.empty': 'Please write your question', 'ph.consent_req': 'You gave personal details: tick the consent box, or clear them',
    'ph.too_long': 'The question is too long (at most {n} characters)', 'ph.sending': 'Sending…', 'ph.waiting': 'Not sent yet (weak network); retrying automatically',
    'ph.receipt': 'Follow the answer', 'ph.sent': 'Sent ✓', 'ph.thanks': 'Your question reached the organisers. Keep the follow link to see its status and the answer.',
    'ph.another': 'Ask another question', 'ph.not_sent': 'Not sent yet', 'ph.bad_link': 'The link has no event code. Scan the QR code in the hall again.',
    'ph.on_air': 'On air now: {text}', 'ph.refused': 'Not sent: {err}', 'ph.offline': 'No network: your question will be sent when it returns',
    'ph.closed': 'The dialogue has ended; no more questions are taken. Thank you for taking part!', 'ph.others': 'Other questions',
  },
);

initPage();
const params = hashParams();
// The QR code's short link /p/{event}/{hall} serves this page directly; older links say #event=…&hall=….
const short = /^\/p\/([^/]+)\/([^/]+)/.exec(location.pathname);
const EVENT = params.get('event') ?? (short && decodeURIComponent(short[1]));
const HALL = params.get('hall') ?? (short && decodeURIComponent(short[2]));
const MINE = 'doithoai.mine';
let maxChars = 2000;
/** The question the confirmation at the top is about. */
let lastSent = null;
/** The event's public definition (GET /api/events/{event}). */
let event = null;
/** Questions being posted right now. */
const inflight = new Set();

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
  const showAir = () => {
    const air = client.list((q) => q.state === 'on_air')[0];
    $('#on-air').hidden = !air;
    if (air) $('#on-air').textContent = t('ph.on_air', { text: air.text });
  };
  client.addEventListener('welcome', (e) => {
    if (e.detail?.closed_at) closed();
  });
  client.addEventListener('change', showAir);
  onLang(showAir);
  $('#ask').addEventListener('submit', ask);
  $('#sent-close').addEventListener('click', () => {
    $('#sent-banner').hidden = true;
    $('#text').focus();
  });
  $('#others-open').addEventListener('click', openOthers);
  window.addEventListener('online', () => {
    showNetwork();
    retry();
  });
  window.addEventListener('offline', showNetwork);
  setInterval(retry, 15000);
  showNetwork();
  renderMine();
  retry();
}

/** Only a phone with no network at all hears about it; a dropped WebSocket does not matter here. */
function showNetwork() {
  const off = navigator.onLine === false;
  $('#conn').hidden = !off;
  $('#conn').dataset.state = off ? 'offline' : 'online';
  $('#conn').textContent = off ? t('ph.offline') : '';
}

async function loadEvent() {
  try {
    const r = await fetch(`/api/events/${encodeURIComponent(EVENT)}`);
    if (!r.ok) throw new Error(String(r.status));
    event = await r.json();
    if (event.closed_at) return closed();
    maxChars = event.max_question_chars;
    $('#text').maxLength = maxChars;
    fillGroups();
    $('#event-name').textContent = `${event.name} — ${event.halls.find((x) => x.id === HALL)?.name ?? ''}`;
    $('#others').hidden = false;
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
  showBanner();
  showNetwork();
});

/** The event has ended: say so instead of offering the form. */
function closed() {
  $('#closed').hidden = false;
  $('#ask').hidden = true;
  $('#others').hidden = true;
}

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
  if (personal && !consent) {
    $('#personal').open = true;
    return (err.textContent = t('ph.consent_req'));
  }
  err.textContent = '';
  const body = { id: uuid(), text, hall: HALL, group: $('#group').value || null, consent: personal && consent, device };
  if (personal) body.questioner = q;
  // Remember it before sending: a lost reply or a closed tab must not lose the question.
  saveMine([{ id: body.id, text, body }, ...mine()]);
  $('#ask').reset();
  $('#personal').open = false;
  lastSent = body.id;
  renderMine();
  // The confirmation is at the top: bring it into view, and to screen readers.
  window.scrollTo(0, 0);
  $('#sent-banner').focus({ preventScroll: true });
  send(body.id);
}

/** The confirmation at the top of the page for the last question sent. */
function showBanner() {
  const banner = $('#sent-banner');
  const x = lastSent && mine().find((y) => y.id === lastSent);
  banner.hidden = !x;
  if (!x) return;
  const ok = !!x.receipt;
  banner.dataset.state = ok ? 'sent' : x.error ? 'refused' : 'waiting';
  // The test hook: present once the server has the question.
  if (ok) banner.dataset.sent = x.id;
  else delete banner.dataset.sent;
  $('#sent-title').textContent = ok ? t('ph.sent') : x.error ? t('ph.not_sent') : t('ph.sending');
  $('#sent-detail').textContent = ok ? t('ph.thanks') : x.error ? t('ph.refused', { err: x.error }) : inflight.has(x.id) ? '' : t('ph.waiting');
  $('#sent-link').hidden = !ok;
  if (ok) $('#sent-link').href = receiptUrl(x);
}

const receiptUrl = (x) => `/receipt.html#q=${x.id}&r=${x.receipt}`;

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
      announce(`${t('ph.sent')} ${t('ph.thanks')}`);
    } else if (reply.code === 'event_closed') {
      update({ body: undefined, error: (lang() === 'en' ? reply.message_en : reply.message) || String(r.status) });
      closed();
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
  showBanner();
  $('#sent').hidden = list.length === 0;
  $('#mine').replaceChildren(
    ...list.map((x) =>
      h(
        'li',
        { class: 'card', attrs: { 'data-id': x.id, 'data-question-id': x.id } },
        h('p', { class: 'text', text: x.text }),
        x.receipt && h('p', {}, h('a', { class: 'btn primary receipt-link', text: t('ph.receipt'), attrs: { href: receiptUrl(x) } })),
        x.body && h('p', { class: 'muted', text: inflight.has(x.id) ? t('ph.sending') : t('ph.waiting') }),
        x.error && h('p', { class: 'error', text: t('ph.refused', { err: x.error }) }),
      ),
    ),
  );
}

/** "Câu hỏi khác": fetched and drawn by votes.js, loaded the first time it is opened. */
let others = null;
async function openOthers() {
  const button = $('#others-open');
  const list = $('#others-list');
  const open = button.getAttribute('aria-expanded') !== 'true';
  button.setAttribute('aria-expanded', String(open));
  list.hidden = !open;
  if (!open) return;
  others ??= import('./votes.js').then((m) => m.mount(list, { event: EVENT, device, mine: () => mine().map((x) => x.id), names: () => event, onClosed: closed }));
  (await others).refresh();
}
