// Import page for moderators: upload a spreadsheet of questions collected
// beforehand, read the row report (POST /api/import/preview), then accept
// (POST /api/import/commit with the previewed file's SHA-256, so only that
// file is imported). Nothing is imported before the button is pressed.
// Plain HTTP, no live connection; the strings and the language switch are
// the shared i18n.js. Text set with textContent only.

import { addStrings, t, lang, apply, onLang, langToggle } from './i18n.js';

const TOKEN_KEY = 'doithoai.staff.token';

addStrings(
  {
    'imp.page_title': 'Nhập câu hỏi thu thập trước — doithoai', 'imp.title': 'Nhập câu hỏi thu thập trước', 'imp.template_xlsx': 'Tải mẫu XLSX', 'imp.template_csv': 'Tải mẫu CSV',
    'imp.token': 'Mã truy cập của ban tổ chức', 'imp.open': 'Mở', 'imp.file': 'Tệp .xlsx hoặc .csv (UTF-8)',
    'imp.source': 'Đơn vị thu thập (khi cột trống)', 'imp.preview': 'Xem trước', 'imp.commit': 'Nhập các câu hỏi mới',
    'imp.row': 'Dòng', 'imp.status': 'Kết quả', 'imp.text': 'Nội dung', 'imp.hall': 'Điểm cầu', 'imp.reason': 'Lý do',
    'imp.status.new': 'Mới', 'imp.status.already_imported': 'Đã có', 'imp.status.rejected': 'Bị loại', 'imp.status.imported': 'Đã nhập',
    'imp.summary': '{rows} dòng: {new} mới, {already_imported} đã có, {rejected} bị loại, {imported} đã nhập.',
    'imp.commit_n': 'Nhập {n} câu hỏi mới', 'imp.done': 'Đã nhập xong.', 'imp.nothing_new': 'Không có dòng mới để nhập.',
  },
  {
    'imp.page_title': 'Import questions collected beforehand — doithoai', 'imp.title': 'Import questions collected beforehand', 'imp.template_xlsx': 'XLSX template', 'imp.template_csv': 'CSV template',
    'imp.token': "Moderator's access token", 'imp.open': 'Open', 'imp.file': '.xlsx or .csv (UTF-8) file',
    'imp.source': 'Collected by (when the column is empty)', 'imp.preview': 'Preview', 'imp.commit': 'Import the new questions',
    'imp.row': 'Row', 'imp.status': 'Result', 'imp.text': 'Text', 'imp.hall': 'Hall', 'imp.reason': 'Reason',
    'imp.status.new': 'New', 'imp.status.already_imported': 'Already there', 'imp.status.rejected': 'Rejected', 'imp.status.imported': 'Imported',
    'imp.summary': '{rows} rows: {new} new, {already_imported} already there, {rejected} rejected, {imported} imported.',
    'imp.commit_n': 'Import {n} new questions', 'imp.done': 'Import finished.', 'imp.nothing_new': 'Nothing new to import.',
  },
);

let token = '';
let report = null;
let file = null;
const $ = (id) => document.getElementById(id);

function cell(text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text ?? '';
  return td;
}

function say(text, error = false) {
  $('message').textContent = text;
  $('message').className = error ? 'message error' : 'message';
  $('message').hidden = !text;
}

function render() {
  if (!report) return;
  $('result').hidden = false;
  $('summary').textContent = t('imp.summary', report.summary);
  const n = report.summary.new;
  $('commit').textContent = t('imp.commit_n', { n });
  $('commit').disabled = report.committed || n === 0;
  $('rows').replaceChildren(...report.rows.map((r) => {
    const tr = document.createElement('tr');
    if (r.status === 'rejected') tr.className = 'rejected';
    const reasons = (r.reasons ?? []).map((x) => (lang() === 'en' ? x.message_en : x.message)).join('; ');
    tr.append(cell(String(r.row)), cell(t(`imp.status.${r.status}`)), cell(r.text), cell(r.hall), cell(reasons));
    return tr;
  }));
}

async function send(step) {
  const body = new FormData();
  body.append('file', file, file.name);
  const source = $('source').value.normalize('NFC').trim();
  if (source) body.append('source', source);
  if (step === 'commit') body.append('sha256', report.sha256);
  const r = await fetch(`/api/import/${step}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body });
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    say(data ? (lang() === 'en' ? data.message_en : data.message) : `HTTP ${r.status}`, true);
    if (r.status === 401) {
      $('login').hidden = false;
      $('main').hidden = true;
    }
    return null;
  }
  return data;
}

function start() {
  apply();
  langToggle($('lang'));
  onLang(render);
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname);
  }
  token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('login').hidden = Boolean(token);
  $('main').hidden = !token;
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token-input').value.normalize('NFC').trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login').hidden = true;
    $('main').hidden = false;
  });
  $('upload').addEventListener('submit', async (e) => {
    e.preventDefault();
    file = $('file').files[0];
    if (!file) return;
    say('');
    report = await send('preview');
    render();
  });
  $('commit').addEventListener('click', async () => {
    if (!report || !file) return;
    $('commit').disabled = true;
    const done = await send('commit');
    if (done) {
      report = done;
      say(done.summary.imported ? t('imp.done') : t('imp.nothing_new'));
    }
    render();
  });
}

start();
