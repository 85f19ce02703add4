// Follow-up officer's page: every question sent for a written answer, its
// agency and due date (editable), the answer text, and each step
// (deferred → answer drafted → answer sent → published) with who and when.
// Plain HTTP: GET /api/questions and POST /api/commands with the seat's
// Bearer token; no live connection. The strings and the language switch are
// the shared i18n.js. Text is only ever set with textContent; the site's CSP
// allows no inline script or style.

import { addStrings, t, lang, apply, onLang, langToggle } from './i18n.js';
import { fmtDate, fmtDateTime } from './ui.js';

const FOLLOW_UP_STATES = ['deferred', 'answer_drafted', 'answer_sent', 'published'];
// Shared with stats.js, so the statistics link opens without asking again.
const TOKEN_KEY = 'doithoai.staff.token';

addStrings(
  {
    'fu.page_title': 'Theo dõi trả lời bằng văn bản — doithoai', 'fu.title': 'Theo dõi trả lời bằng văn bản', 'fu.stats': 'Thống kê', 'fu.token': 'Mã truy cập của cán bộ theo dõi', 'fu.open': 'Mở',
    'fu.downloads': 'Tải về', 'fu.conclusion_docx': 'Dự thảo văn bản kết luận (DOCX)', 'fu.conclusion_print': 'In văn bản kết luận',
    'fu.deferred_all': 'Danh sách theo cơ quan (XLSX)', 'fu.questions_xlsx': 'Toàn bộ câu hỏi (XLSX)', 'fu.questions_csv': 'Toàn bộ câu hỏi (CSV)',
    'fu.audit_csv': 'Nhật ký thao tác (CSV)', 'fu.by_agency': 'Gửi cơ quan', 'fu.agency': 'Cơ quan', 'fu.count': 'Số câu', 'fu.overdue': 'Quá hạn',
    'fu.sent_col': 'Đã gửi', 'fu.state': 'Trạng thái', 'fu.overdue_only': 'Chỉ câu quá hạn', 'fu.reload': 'Tải lại', 'fu.all': 'Tất cả',
    'fu.download': 'Tải XLSX', 'fu.due': 'Hạn trả lời', 'fu.answer': 'Nội dung trả lời', 'fu.save': 'Lưu', 'fu.mark_sent': 'Đã gửi trả lời',
    'fu.publish': 'Công bố', 'fu.hall': 'Điểm cầu', 'fu.group': 'Nhóm', 'fu.asker': 'Người hỏi', 'fu.is_overdue': 'QUÁ HẠN',
    'fu.saved': 'Đã lưu', 'fu.conflict': 'Người khác vừa sửa câu hỏi này; đã tải lại', 'fu.nothing': 'Không có câu hỏi nào',
    'fu.shown': '{n} / {total} câu', 'fu.due_on': 'Hạn trả lời: {d}', 'fu.load_failed': 'Không tải được dữ liệu',
    'fu.step.deferred': 'Chuyển trả lời bằng văn bản', 'fu.step.answer_drafted': 'Dự thảo trả lời', 'fu.step.answer_sent': 'Đã gửi',
    'fu.step.published': 'Công bố', 'fu.confirm_publish': 'Công bố câu trả lời cho mọi người xem?',
    'fu.state.deferred': 'Đã giao cơ quan', 'fu.state.answer_drafted': 'Đã dự thảo trả lời', 'fu.state.answer_sent': 'Đã gửi trả lời',
    'fu.state.published': 'Đã công bố', 'fu.history': 'Lịch sử',
    'fu.act.defer': 'Chuyển trả lời bằng văn bản', 'fu.act.update_follow_up': 'Cập nhật', 'fu.act.mark_sent': 'Đã gửi', 'fu.act.publish': 'Công bố',
  },
  {
    'fu.page_title': 'Written answers follow-up — doithoai', 'fu.title': 'Written answers follow-up', 'fu.stats': 'Statistics', 'fu.token': "Follow-up officer's access token", 'fu.open': 'Open',
    'fu.downloads': 'Downloads', 'fu.conclusion_docx': 'Conclusion draft (DOCX)', 'fu.conclusion_print': 'Print the conclusion',
    'fu.deferred_all': 'Lists per agency (XLSX)', 'fu.questions_xlsx': 'All questions (XLSX)', 'fu.questions_csv': 'All questions (CSV)',
    'fu.audit_csv': 'Audit log (CSV)', 'fu.by_agency': 'Send to agencies', 'fu.agency': 'Agency', 'fu.count': 'Questions', 'fu.overdue': 'Overdue',
    'fu.sent_col': 'Sent', 'fu.state': 'State', 'fu.overdue_only': 'Overdue only', 'fu.reload': 'Reload', 'fu.all': 'All',
    'fu.download': 'Download XLSX', 'fu.due': 'Due date', 'fu.answer': 'Written answer', 'fu.save': 'Save', 'fu.mark_sent': 'Answer sent',
    'fu.publish': 'Publish', 'fu.hall': 'Hall', 'fu.group': 'Group', 'fu.asker': 'Asked by', 'fu.is_overdue': 'OVERDUE',
    'fu.saved': 'Saved', 'fu.conflict': 'Someone else just changed this question; reloaded', 'fu.nothing': 'No questions',
    'fu.shown': '{n} of {total}', 'fu.due_on': 'Due {d}', 'fu.load_failed': 'Could not load the data',
    'fu.step.deferred': 'Sent for a written answer', 'fu.step.answer_drafted': 'Answer drafted', 'fu.step.answer_sent': 'Answer sent',
    'fu.step.published': 'Published', 'fu.confirm_publish': 'Publish this answer for everyone to read?',
    'fu.state.deferred': 'Assigned to agency', 'fu.state.answer_drafted': 'Answer drafted', 'fu.state.answer_sent': 'Answer sent',
    'fu.state.published': 'Published', 'fu.history': 'History',
    'fu.act.defer': 'Sent for a written answer', 'fu.act.update_follow_up': 'Updated', 'fu.act.mark_sent': 'Marked sent', 'fu.act.publish': 'Published',
  },
);

let token = '';
let event = null;
let questions = [];
/** Question id → follow-up transitions from the change log (who, when). */
let steps = {};
const dirty = new Set();

const $ = (id) => document.getElementById(id);
const nfc = (s) => (s ?? '').normalize('NFC').trim();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

/** Today's date in Vietnam (UTC+7), YYYY-MM-DD, to compare with due dates. */
function vnToday() {
  return new Date(Date.now() + 7 * 3600 * 1000).toISOString().slice(0, 10);
}

const fmtTime = fmtDateTime;

function isOverdue(q) {
  return (q.state === 'deferred' || q.state === 'answer_drafted') && q.followup && q.followup.due < vnToday();
}

function say(text, kind = 'info') {
  const m = $('message');
  m.textContent = text;
  m.className = `message ${kind}`;
  m.hidden = !text;
}

function errorText(body, fallback) {
  if (body && (body.message || body.message_en)) return lang() === 'en' ? body.message_en || body.message : body.message;
  return fallback;
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token}`, ...(options.headers || {}) };
  const r = await fetch(path, { ...options, headers });
  return r;
}

async function send(cmd) {
  const r = await api('/api/commands', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(cmd),
  });
  const body = await r.json().catch(() => null);
  if (r.status === 409) {
    say(t('fu.conflict'), 'warn');
    dirty.delete(cmd.question);
    await load();
    return false;
  }
  if (!r.ok) {
    say(errorText(body, `HTTP ${r.status}`), 'error');
    return false;
  }
  return true;
}

async function download(path, filename) {
  const r = await api(path);
  if (!r.ok) {
    say(errorText(await r.json().catch(() => null), `HTTP ${r.status}`), 'error');
    return;
  }
  const url = URL.createObjectURL(await r.blob());
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Print the server's conclusion page inside this page (same CSP, same stylesheet). */
async function printConclusion() {
  const r = await api('/api/reports/conclusion.html');
  if (!r.ok) {
    say(errorText(await r.json().catch(() => null), `HTTP ${r.status}`), 'error');
    return;
  }
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  const report = doc.querySelector('main.report');
  const area = $('print-area');
  area.replaceChildren(document.importNode(report, true));
  document.body.classList.add('printing');
  window.addEventListener('afterprint', () => document.body.classList.remove('printing'), { once: true });
  window.print();
}

function hallName(id) {
  return event?.halls?.find((h) => h.id === id)?.name ?? id;
}
function groupName(id) {
  const g = event?.groups?.find((x) => x.id === id);
  return g ? (lang() === 'en' && g.name_en ? g.name_en : g.name) : '';
}

function fillSelect(select, options, keep) {
  const current = keep ? select.value : '';
  select.replaceChildren(el('option', { value: '', text: t('fu.all') }), ...options.map(([v, label]) => el('option', { value: v, text: label })));
  if (options.some(([v]) => v === current)) select.value = current;
}

function renderFilters() {
  const agencies = [...new Set(questions.map((q) => q.followup.agency))].sort((a, b) => a.localeCompare(b, 'vi'));
  fillSelect($('filter-agency'), agencies.map((a) => [a, a]), true);
  fillSelect($('filter-state'), FOLLOW_UP_STATES.map((s) => [s, t(`fu.state.${s}`)]), true);
  const known = new Set([...(event?.agencies ?? []), ...(event?.departments ?? []).map((d) => d.name), ...agencies]);
  $('agency-options').replaceChildren(...[...known].map((a) => el('option', { value: a })));
}

function renderAgencies() {
  const rows = new Map();
  for (const q of questions) {
    const a = q.followup.agency;
    const r = rows.get(a) ?? { total: 0, overdue: 0, sent: 0 };
    r.total += 1;
    if (isOverdue(q)) r.overdue += 1;
    if (q.state === 'answer_sent' || q.state === 'published') r.sent += 1;
    rows.set(a, r);
  }
  const body = $('agencies');
  body.replaceChildren(
    ...[...rows.entries()].sort((a, b) => a[0].localeCompare(b[0], 'vi')).map(([agency, r]) => {
      const button = el('button', { type: 'button', text: t('fu.download') });
      button.addEventListener('click', () => download(`/api/exports/deferred.xlsx?agency=${encodeURIComponent(agency)}`, `tra-loi-${agency}.xlsx`));
      return el('tr', { class: r.overdue ? 'overdue' : '' },
        el('td', { text: agency }), el('td', { text: String(r.total) }), el('td', { text: String(r.overdue) }),
        el('td', { text: String(r.sent) }), el('td', {}, button));
    }),
  );
}

function step(q, name, at, by) {
  const done = FOLLOW_UP_STATES.indexOf(q.state) >= FOLLOW_UP_STATES.indexOf(name);
  return el('li', { class: done ? 'done' : '' }, el('span', { text: t(`fu.step.${name}`) }),
    el('span', { class: 'muted', text: [fmtTime(at), by].filter(Boolean).join(' · ') }));
}

function card(q) {
  const f = q.followup;
  const overdue = isOverdue(q);
  const agency = el('input', { value: f.agency, list: 'agency-options', maxlength: '300' });
  const due = el('input', { type: 'date', value: f.due, required: true });
  const answer = el('textarea', { rows: '4', maxlength: '20000' });
  answer.value = f.answer ?? '';
  const editable = q.state !== 'published';
  for (const input of [agency, due, answer]) {
    input.disabled = !editable;
    input.addEventListener('input', () => {
      dirty.add(q.id);
      save.textContent = `${t('fu.save')} *`;
    });
  }
  const save = el('button', { type: 'button', text: t('fu.save') });
  save.disabled = !editable;
  save.addEventListener('click', async () => {
    const cmd = { type: 'update_follow_up', question: q.id, version: q.version };
    const a = nfc(agency.value);
    const d = due.value.trim();
    const text = nfc(answer.value);
    if (a && a !== f.agency) cmd.agency = a;
    if (d && d !== f.due) cmd.due = d;
    if (text && text !== (f.answer ?? '')) cmd.answer = text;
    if (Object.keys(cmd).length === 3) return;
    if (await send(cmd)) {
      dirty.delete(q.id);
      say(t('fu.saved'));
      await load();
    }
  });
  const sent = el('button', { type: 'button', text: t('fu.mark_sent') });
  sent.disabled = q.state !== 'answer_drafted';
  sent.addEventListener('click', async () => {
    if (await send({ type: 'mark_sent', question: q.id, version: q.version })) await load();
  });
  const publish = el('button', { type: 'button', text: t('fu.publish') });
  publish.disabled = q.state !== 'answer_sent';
  publish.addEventListener('click', async () => {
    if (!window.confirm(t('fu.confirm_publish'))) return;
    if (await send({ type: 'publish', question: q.id, version: q.version })) await load();
  });
  const who = q.questioner
    ? [q.questioner.name, q.questioner.age, q.questioner.organization, q.questioner.phone].filter(Boolean).join(' · ')
    : '';
  return el('li', { class: `question state-${q.state}${overdue ? ' overdue' : ''}`, 'data-question-id': q.id },
    el('div', { class: 'head' },
      el('span', { class: `badge state-${q.state}`, text: t(`fu.state.${q.state}`) }),
      overdue ? el('span', { class: 'badge overdue', text: t('fu.is_overdue') }) : null,
      el('span', { class: overdue ? 'due overdue' : 'due', text: t('fu.due_on', { d: fmtDate(f.due) }) }),
      el('span', { class: 'muted', text: `${t('fu.hall')}: ${hallName(q.hall)}` }),
      q.group ? el('span', { class: 'muted', text: `${t('fu.group')}: ${groupName(q.group)}` }) : null),
    el('p', { class: 'text', text: q.text }),
    who ? el('p', { class: 'muted', text: `${t('fu.asker')}: ${who}` }) : null,
    el('div', { class: 'fields' },
      el('label', {}, el('span', { text: t('fu.agency') }), agency),
      el('label', {}, el('span', { text: t('fu.due') }), due)),
    el('label', { class: 'answer' }, el('span', { text: t('fu.answer') }), answer),
    el('ol', { class: 'steps' },
      step(q, 'deferred', deferral(q)?.at, deferral(q)?.actor),
      step(q, 'answer_drafted', f.drafted_at, f.drafted_by),
      step(q, 'answer_sent', f.sent_at, f.sent_by),
      step(q, 'published', f.published_at, f.published_by)),
    historyList(q),
    el('div', { class: 'actions' }, save, sent, publish));
}

function deferral(q) {
  return (steps[q.id] ?? []).find((h) => h.action === 'defer');
}

/** Every follow-up step of the question, oldest first, folded away. */
function historyList(q) {
  const entries = steps[q.id] ?? [];
  if (!entries.length) return null;
  return el('details', { class: 'history' }, el('summary', { text: `${t('fu.history')} (${entries.length})` }),
    el('ol', {}, ...entries.map((h) => el('li', { text: `${fmtTime(h.at)} · ${h.actor} · ${t(`fu.act.${h.action}`)}` }))));
}

function render() {
  const agency = $('filter-agency').value;
  const state = $('filter-state').value;
  const overdueOnly = $('filter-overdue').checked;
  const shown = questions.filter((q) => (!agency || q.followup.agency === agency)
    && (!state || q.state === state) && (!overdueOnly || isOverdue(q)));
  $('counts').textContent = t('fu.shown', { n: shown.length, total: questions.length });
  $('list').replaceChildren(...(shown.length ? shown.map(card) : [el('li', { class: 'muted', text: t('fu.nothing') })]));
}

async function load() {
  const r = await api('/api/questions');
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    showLogin();
    say(errorText(await r.json().catch(() => null), t('fu.load_failed')), 'error');
    return;
  }
  if (!r.ok) {
    say(t('fu.load_failed'), 'error');
    return;
  }
  const data = await r.json();
  if (!event || event.id !== data.event) {
    const e = await fetch(`/api/events/${encodeURIComponent(data.event)}`);
    event = e.ok ? await e.json() : { id: data.event };
    $('event-name').textContent = event.name ?? data.event;
  }
  // The log's view of who did each step; the page still works without it.
  const h = await api('/api/followup/history');
  steps = h.ok ? (await h.json()).history ?? {} : {};
  questions = data.questions
    .filter((q) => FOLLOW_UP_STATES.includes(q.state) && q.followup)
    .sort((a, b) => (a.followup.due.localeCompare(b.followup.due)) || (a.created_at - b.created_at));
  $('login').hidden = true;
  $('main').hidden = false;
  renderFilters();
  renderAgencies();
  render();
}

/** Remember the seat's token in this tab and in the address, and pass it to the statistics link. */
function useToken(value) {
  token = value;
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  const hash = `#token=${encodeURIComponent(token)}`;
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
  $('stats-link').href = `/stats.html${hash}`;
}

function showLogin() {
  $('login').hidden = false;
  $('main').hidden = true;
}

function start() {
  apply();
  langToggle($('lang'));
  // The token stays in the address (#token=…), so a bookmark or a reload
  // keeps working; the statistics link carries it along.
  token = new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
  useToken(token);
  onLang(() => {
    say('');
    if (questions.length || event) {
      renderFilters();
      renderAgencies();
      render();
    }
  });
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    useToken(nfc($('token-input').value));
    load();
  });
  for (const id of ['filter-agency', 'filter-state', 'filter-overdue']) $(id).addEventListener('change', render);
  $('reload').addEventListener('click', () => load());
  $('print-conclusion').addEventListener('click', printConclusion);
  for (const b of document.querySelectorAll('[data-download]')) {
    b.addEventListener('click', () => download(b.dataset.download, b.dataset.file));
  }
  // Others (moderators, the second follow-up officer) change things too:
  // refresh every half minute unless something is being edited here.
  setInterval(() => {
    if (token && !dirty.size && !document.hidden) load();
  }, 30000);
  if (token) load();
  else showLogin();
}

start();
