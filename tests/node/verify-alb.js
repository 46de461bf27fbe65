// Verifies an x-amzn-oidc-data token the way an app behind ALB does with AWS's own library:
// AlbJwtVerifier with the load balancer ARN, issuer and client id, fetching the PEM for the
// token's kid from `<jwksUri>/<kid>` (albauth's key endpoint instead of AWS's regional one).
// Usage: node verify-alb.js <token> <albArn> <issuer> <clientId> <jwksUri>
// Prints the verified payload as JSON; exits 1 with the error on failure.
const { AlbJwtVerifier } = require("aws-jwt-verify");
const { AlbJwksCache } = require("aws-jwt-verify/alb-cache");

// The library's own fetcher speaks HTTPS only; albauth's admin listener in the tests is
// plain HTTP on loopback, so fetch the PEM with Node's fetch instead.
const fetcher = {
  fetch: async (uri) => {
    const res = await fetch(uri);
    if (!res.ok) throw new Error(`GET ${uri}: ${res.status}`);
    return res.arrayBuffer();
  },
};

const [token, albArn, issuer, clientId, jwksUri] = process.argv.slice(2);
const verifier = AlbJwtVerifier.create(
  { albArn, issuer, clientId, jwksUri },
  { jwksCache: new AlbJwksCache({ fetcher }) },
);
verifier
  .verify(token)
  .then((payload) => console.log(JSON.stringify(payload)))
  .catch((err) => {
    console.error(`${err.name}: ${err.message}`);
    process.exit(1);
  });
