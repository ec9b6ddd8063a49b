"""Static HTML/JS/CSS for the browser UI. Scripts live in /static/app.js so the
CSP can forbid inline script."""

import json

from refpay.signing import SIGNED_FIELDS, TAMPER_FIELDS

LOGIN_HTML = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>refpay 登录</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body data-page="login">
<main>
<h1>refpay 网上支付</h1>
<form id="login-form" autocomplete="off">
  <label for="username">用户名</label>
  <input name="username" id="username" autocomplete="username" required>
  <label for="password">密码</label>
  <input name="password" id="password" type="password" autocomplete="off" required>
  <button id="login-btn" type="submit">登录</button>
  <p id="error" class="error" role="alert"></p>
</form>
</main>
</body>
</html>
"""

ACCOUNT_HTML = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>refpay 我的账户</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body data-page="account">
<main>
<h1>我的账户</h1>
<button id="logout-btn" type="button">退出登录</button>
<dl id="account-info">
  <dt>户名</dt><dd id="owner"></dd>
  <dt>账号</dt><dd id="account-id"></dd>
  <dt>卡号</dt><dd id="card-number"></dd>
  <dt>手机号</dt><dd id="phone"></dd>
  <dt>余额（元）</dt><dd id="balance"></dd>
</dl>
<h2>转账</h2>
<form id="transfer-form" autocomplete="off">
  <label for="to_account">收款账号</label>
  <input name="to_account" id="to_account" required>
  <label for="amount">金额（元）</label>
  <input name="amount" id="amount" inputmode="decimal" required>
  <button id="transfer-btn" type="submit">转账</button>
</form>
<p id="transfer-result" role="status"></p>
<p id="error" class="error" role="alert"></p>
<h2>交易记录</h2>
<table id="history">
  <thead><tr><th>流水号</th><th>付款账号</th><th>收款账号</th><th>金额</th><th>时间</th></tr></thead>
  <tbody></tbody>
</table>
</main>
</body>
</html>
"""

APP_CSS = """body{font-family:sans-serif;margin:2em;max-width:48em}
label{display:block;margin-top:.6em}
button{margin-top:.8em}
.error{color:#b00020}
table{border-collapse:collapse;margin-top:.5em}
td,th{border:1px solid #ccc;padding:.2em .5em}
dt{font-weight:bold}
"""

APP_JS = r"""'use strict';
const S = window.sessionStorage;
const SIGNED_FIELDS = __SIGNED_FIELDS__;

function showError(msg) { document.getElementById('error').textContent = msg || ''; }

async function api(method, path, body) {
  const headers = {'Content-Type': 'application/json'};
  const token = S.getItem('token');
  if (token) headers['Authorization'] = 'Bearer ' + token;
  const resp = await fetch(path, {method, headers, body: body ? JSON.stringify(body) : undefined});
  let data = {};
  try { data = await resp.json(); } catch (e) { data = {error: '响应格式错误'}; }
  return {status: resp.status, data};
}

async function hmacHex(keyText, message) {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(keyText),
    {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']);
  const sig = await crypto.subtle.sign('HMAC', key, enc.encode(message));
  return Array.from(new Uint8Array(sig)).map(b => b.toString(16).padStart(2, '0')).join('');
}

function randomNonce() {
  const b = new Uint8Array(16); crypto.getRandomValues(b);
  return Array.from(b).map(x => x.toString(16).padStart(2, '0')).join('');
}

function initLogin() {
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('');
    const {status, data} = await api('POST', '/api/login', {
      username: document.getElementById('username').value,
      password: document.getElementById('password').value,
    });
    if (status !== 200) { showError(data.error); return; }
    S.setItem('token', data.token);
    S.setItem('sign_key', data.sign_key);
    S.setItem('account_id', data.account_id);
    window.location.assign('/account');
  });
}

function backToLogin() { S.clear(); window.location.assign('/login'); }

async function loadAccount() {
  const id = S.getItem('account_id');
  const acc = await api('GET', '/api/accounts/' + encodeURIComponent(id));
  if (acc.status === 401) { backToLogin(); return; }
  if (acc.status !== 200) { showError(acc.data.error); return; }
  document.getElementById('owner').textContent = acc.data.owner;
  document.getElementById('account-id').textContent = acc.data.account_id;
  document.getElementById('card-number').textContent = acc.data.card_number;
  document.getElementById('phone').textContent = acc.data.phone;
  document.getElementById('balance').textContent = acc.data.balance;
  const hist = await api('GET', '/api/accounts/' + encodeURIComponent(id) + '/transactions');
  const tbody = document.querySelector('#history tbody');
  tbody.replaceChildren();
  for (const t of (hist.data.transactions || [])) {
    const tr = document.createElement('tr');
    for (const v of [t.transfer_id, t.from_account, t.to_account, t.amount, t.created_at]) {
      const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
}

function initAccount() {
  if (!S.getItem('token')) { backToLogin(); return; }
  loadAccount();
  document.getElementById('transfer-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('');
    document.getElementById('transfer-result').textContent = '';
    const body = {
      from_account: S.getItem('account_id'),
      to_account: document.getElementById('to_account').value.trim(),
      amount: document.getElementById('amount').value.trim(),
      nonce: randomNonce(),
      timestamp: Date.now(),
    };
    const canonical = SIGNED_FIELDS.slice().sort().map(k => k + '=' + body[k]).join('&');
    body.signature = await hmacHex(S.getItem('sign_key'), canonical);
    const {status, data} = await api('POST', '/api/transfers', body);
    if (status === 401 && data.error !== '签名错误') { backToLogin(); return; }
    if (status !== 200) { showError(data.error); return; }
    document.getElementById('transfer-result').textContent = '转账成功，流水号 ' + data.transfer_id;
    loadAccount();
  });
  document.getElementById('logout-btn').addEventListener('click', async () => {
    await api('POST', '/api/logout');
    backToLogin();
  });
}

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  if (page === 'login') initLogin();
  if (page === 'account') initAccount();
});
"""


def app_js(tamper: bool) -> str:
    """The UI signs only nonce+timestamp under 'tamper', so an intercepted
    browser request can have its amount/to_account rewritten."""
    fields = TAMPER_FIELDS if tamper else SIGNED_FIELDS
    return APP_JS.replace("__SIGNED_FIELDS__", json.dumps(list(fields)))
