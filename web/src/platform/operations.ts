import { graphql } from '../gql';

export const FindAfterSaleQuery = graphql(`
  query FindAfterSale($number: String!) {
    afterSaleByNumber(number: $number) {
      id
      number
      orderNumber
      type
      reason
      buyerClaim
      amountCents
      status
      appliedAt
      evidenceRequest {
        id
        status
      }
      evidenceRequests {
        id
        status
        instructions
        requestedAt
        dueAt
        submission {
          id
          explanation
          submittedAt
          files {
            id
            fileName
            contentType
            byteSize
            sha256
            url
          }
        }
      }
      resolution {
        outcome
        decidedBy
        decidedAt
        opinion
      }
      logs(first: 100) {
        edges {
          node {
            id
            at
            actor
            action
            summary
          }
        }
      }
    }
  }
`);

export const RecordAfterSaleMutation = graphql(`
  mutation RecordAfterSale($input: RecordAfterSaleInput!) {
    recordAfterSale(input: $input) {
      __typename
      ... on RecordAfterSalePayload {
        created
        afterSale {
          id
          number
        }
      }
      ... on InvalidInputError {
        field
      }
      ... on Error {
        message
      }
    }
  }
`);

export const RequestEvidenceMutation = graphql(`
  mutation RequestEvidence($input: RequestEvidenceInput!) {
    requestEvidence(input: $input) {
      __typename
      ... on RequestEvidencePayload {
        evidenceRequest {
          id
          dueAt
        }
      }
      ... on InvalidInputError {
        field
      }
      ... on Error {
        message
      }
    }
  }
`);

export const CancelEvidenceRequestMutation = graphql(`
  mutation CancelEvidenceRequest($id: ID!) {
    cancelEvidenceRequest(evidenceRequestId: $id) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

export const ResolveArbitrationMutation = graphql(`
  mutation ResolveArbitration($input: ResolveArbitrationInput!) {
    resolveArbitration(input: $input) {
      __typename
      ... on InvalidInputError {
        field
      }
      ... on Error {
        message
      }
    }
  }
`);

export const PlatformLogAddedSubscription = graphql(`
  subscription PlatformLogAdded($afterSaleId: ID!) {
    afterSaleLogAdded(afterSaleId: $afterSaleId) {
      id
    }
  }
`);
