// A new user's way in, through the official PocketBase JS SDK: sign up, confirm the address
// from the mailed link, sign in, reset the password, sign in with a mailed code, move to a new
// address; and a superuser impersonating them. Mail goes to a small SMTP sink started here.
// Usage (from a folder where `pocketbase` is installed): node auth_journey.mjs URL
// The server must have the superuser admin@example.com / AdminPass123!.
import assert from "node:assert/strict";
import net from "node:net";
import PocketBase from "pocketbase";

const url = process.argv[2];
const mails = [];
const sink = net.createServer((socket) => {
  let buffer = "";
  let inData = false;
  let data = "";
  socket.write("220 sink\r\n");
  socket.on("data", (chunk) => {
    buffer += chunk.toString();
    let end;
    while ((end = buffer.indexOf("\r\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (inData) {
        if (line === ".") {
          inData = false;
          mails.push(data);
          data = "";
          socket.write("250 queued\r\n");
        } else {
          data += line.replace(/^\./, "") + "\n";
        }
        continue;
      }
      const cmd = line.toUpperCase();
      if (cmd.startsWith("EHLO")) socket.write("250-sink\r\n250 8BITMIME\r\n");
      else if (cmd === "DATA") {
        inData = true;
        socket.write("354 go on\r\n");
      } else if (cmd === "QUIT") {
        socket.write("221 bye\r\n");
        socket.end();
      } else socket.write("250 ok\r\n");
    }
  });
});
await new Promise((resolve) => sink.listen(0, "127.0.0.1", resolve));

// Quoted-printable, as the server encodes its parts.
const decode = (text) =>
  text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
async function mail(n) {
  for (let i = 0; i < 100 && mails.length < n; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(mails.length >= n, `mail #${n} arrived`);
  return decode(mails[n - 1]);
}
const tokenAfter = (text, marker) => text.split(marker)[1].match(/^[A-Za-z0-9._-]+/)[0];

let failures = 0;
async function step(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}: ${err?.message ?? err}`);
  }
}

const su = new PocketBase(url);
const pb = new PocketBase(url);
const email = `journey${Date.now()}@example.com`;
let userId = "";

await step("superuser points the mail at the sink", async () => {
  await su.collection("_superusers").authWithPassword("admin@example.com", "AdminPass123!");
  await su.settings.update({ smtp: { enabled: true, host: "127.0.0.1", port: sink.address().port } });
  await su.collections.update("users", { otp: { enabled: true }, mfa: { enabled: false } });
});
await step("sign up", async () => {
  const user = await pb.collection("users").create({ email, password: "first-pass-1", passwordConfirm: "first-pass-1" });
  userId = user.id;
  assert.equal(user.verified, false);
});
await step("confirm the address from the mail", async () => {
  assert.equal(await pb.collection("users").requestVerification(email), true);
  const token = tokenAfter(await mail(1), "/confirm-verification/");
  assert.equal(await pb.collection("users").confirmVerification(token), true);
});
await step("sign in", async () => {
  const auth = await pb.collection("users").authWithPassword(email, "first-pass-1");
  assert.equal(auth.record.verified, true);
  assert.ok(pb.authStore.isValid);
});
await step("reset the password from the mail", async () => {
  assert.equal(await pb.collection("users").requestPasswordReset(email), true);
  const token = tokenAfter(await mail(2), "/confirm-password-reset/");
  assert.equal(await pb.collection("users").confirmPasswordReset(token, "second-pass-2", "second-pass-2"), true);
  const refresh = await pb.collection("users").authRefresh().then(() => 200, (e) => e.status);
  assert.equal(refresh, 401, "the old session ended");
  await pb.collection("users").authWithPassword(email, "second-pass-2");
  assert.ok(pb.authStore.isValid);
});
await step("sign in with a mailed code", async () => {
  const { otpId } = await pb.collection("users").requestOTP(email);
  const code = (await mail(3)).match(/<strong>(\d+)<\/strong>/)[1];
  const auth = await pb.collection("users").authWithOTP(otpId, code);
  assert.equal(auth.record.id, userId);
});
await step("move to a new address", async () => {
  assert.equal(await pb.collection("users").requestEmailChange(`moved.${email}`), true);
  const token = tokenAfter(await mail(4), "/confirm-email-change/");
  assert.equal(await pb.collection("users").confirmEmailChange(token, "second-pass-2"), true);
  const auth = await pb.collection("users").authWithPassword(`moved.${email}`, "second-pass-2");
  assert.equal(auth.record.email, `moved.${email}`);
});
await step("a superuser impersonates the user", async () => {
  const as = await su.collection("users").impersonate(userId, 60);
  assert.equal(as.authStore.record.id, userId);
  assert.ok(as.authStore.isValid);
});
sink.close();
console.log(`${8 - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
