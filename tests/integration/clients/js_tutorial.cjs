// The tutorial flow with Microsoft's JavaScript SDK @azure/arm-sql, run by test_other_clients.py.
// Usage: node js_tutorial.cjs <emulator url> <token> <subscription> <resource group>
// (NODE_PATH points at the npm cache dir, NODE_EXTRA_CA_CERTS at the emulator's cert.pem).
// Creates a server, a job database and a target database, a job agent, a credential (the server
// admin), a target group with the target database, a job with one step, starts an execution and
// waits (bounded) until it is Succeeded. Prints one JSON line with what the test checks.
"use strict";
const { SqlManagementClient } = require("@azure/arm-sql");

const ADMIN = "clientadmin";
const PASSWORD = "Cl1ent-Passw0rd!";
const TERMINAL = new Set(["Succeeded", "Failed", "Canceled", "TimedOut", "Skipped", "SucceededWithSkipped"]);

async function main([url, token, subscription, rg]) {
  const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600 * 1000 }) };
  const client = new SqlManagementClient(credential, subscription, { endpoint: url, updateIntervalInMs: 200 });
  const server = await client.servers.beginCreateOrUpdateAndWait(rg, "js-srv", {
    location: "westus",
    administratorLogin: ADMIN,
    administratorLoginPassword: PASSWORD,
  });
  const jobDb = await client.databases.beginCreateOrUpdateAndWait(rg, server.name, "jobdb", { location: "westus" });
  await client.databases.beginCreateOrUpdateAndWait(rg, server.name, "targetdb", { location: "westus" });
  const agent = await client.jobAgents.beginCreateOrUpdateAndWait(rg, server.name, "agent", {
    location: "westus",
    databaseId: jobDb.id,
  });
  const names = [rg, server.name, agent.name];
  const cred = await client.jobCredentials.createOrUpdate(...names, "admin", { username: ADMIN, password: PASSWORD });
  const group = await client.jobTargetGroups.createOrUpdate(...names, "group", {
    members: [{ type: "SqlDatabase", serverName: server.name, databaseName: "targetdb" }],
  });
  await client.jobs.createOrUpdate(...names, "job", { description: "JavaScript SDK" });
  const step = await client.jobSteps.createOrUpdate(...names, "job", "step1", {
    targetGroup: group.id,
    credential: cred.id,
    action: { value: "CREATE TABLE JsTable (id int)" },
    executionOptions: { retryAttempts: 0 },
  });
  let execution = await client.jobExecutions.beginCreateAndWait(...names, "job");
  const deadline = Date.now() + 60 * 1000;
  while (!TERMINAL.has(execution.lifecycle) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    execution = await client.jobExecutions.get(...names, "job", execution.jobExecutionId);
  }
  const steps = [];
  for await (const one of client.jobStepExecutions.listByJobExecution(...names, "job", execution.jobExecutionId)) {
    steps.push(one.lifecycle);
  }
  console.log(
    JSON.stringify({
      agent_state: agent.state,
      agent_identity: agent.identity === undefined ? null : agent.identity,
      step_id: step.stepId,
      lifecycle: execution.lifecycle,
      last_message: execution.lastMessage,
      steps,
    }),
  );
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
